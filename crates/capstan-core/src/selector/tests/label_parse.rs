//! Parsing the label selector string syntax, errors and canonical form.

use super::Expect;
use crate::Error;
use crate::selector::{LabelSelector, Operator, Requirement};

/// Parses `input`; `Ok(canonical)` expects success with that Display form (which must
/// itself re-parse to the same selector), `Err(part)` expects an error mentioning `part`.
fn check(input: &str, expected: Expect<&str>) {
    let got = LabelSelector::parse(input);
    match (got, expected) {
        (Ok(sel), Ok(want)) => {
            assert_eq!(sel.to_string(), want, "canonical form of {input:?}");
            let again = LabelSelector::parse(&sel.to_string()).unwrap();
            assert_eq!(again, sel, "round trip of {input:?}");
        }
        (Err(e), Err(part)) => {
            let msg = e.to_string();
            assert!(
                msg.contains(part),
                "error for {input:?} was {msg:?}, wanted {part:?}"
            );
            assert!(matches!(e, Error::LabelSelector { .. }));
        }
        (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
    }
}

#[test]
fn parse_cases() {
    let longest_key = "a".repeat(63);
    let long_key = "a".repeat(64);
    let long_value = format!("x={}", "v".repeat(64));
    let cases: &[(&str, Expect<&str>)] = &[
        ("", Ok("")),
        ("   ", Ok("")),
        ("x=a", Ok("x=a")),
        ("x==a", Ok("x=a")),
        ("x!=a", Ok("x!=a")),
        (" x = a ", Ok("x=a")),
        ("x=", Ok("x=")),
        ("x==", Ok("x=")),
        ("x!=", Ok("x!=")),
        ("x=,y=b", Ok("x=,y=b")),
        ("x", Ok("x")),
        ("!x", Ok("!x")),
        ("! x", Ok("!x")),
        ("x,!y", Ok("x,!y")),
        ("x in (a)", Ok("x in (a)")),
        ("x in (b,a,b)", Ok("x in (a,b)")),
        ("x notin (z)", Ok("x notin (z)")),
        ("x in ()", Ok("x in ()")),
        ("x in (,a)", Ok("x in (,a)")),
        ("x in (a,)", Ok("x in (,a)")),
        ("x in (a,,b)", Ok("x in (,a,b)")),
        ("x in(a)", Ok("x in (a)")),
        ("x>1", Ok("x>1")),
        ("x<-0", Err("values[0][x]: Invalid value: \"-0\"")),
        ("x < 10", Ok("x<10")),
        ("in in (in,notin)", Ok("in in (in,notin)")),
        ("x=in", Ok("x=in")),
        ("notin", Ok("notin")),
        // Requirements are sorted by key.
        ("z=1,a=2", Ok("a=2,z=1")),
        (
            "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j, k>3, l<5",
            Ok("a=b,c!=d,e in (x,y),f notin (z),g,!h,i=j,k>3,l<5"),
        ),
        (
            "example.com/app=web,k8s.io/x in (A.b_c-1)",
            Ok("example.com/app=web,k8s.io/x in (A.b_c-1)"),
        ),
        ("\tx\n=\ra", Ok("x=a")),
        (&longest_key, Ok(&longest_key)),
        // Errors.
        (
            ",",
            Err("found ',', expected: !, identifier, or 'end of string'"),
        ),
        ("x=a,", Err("found '', expected: identifier after ','")),
        ("x=a,,y=b", Err("found ',', expected: identifier after ','")),
        (
            "x=a y=b",
            Err("found 'y', expected: ',' or 'end of string'"),
        ),
        (
            "x y",
            Err("unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
        ),
        ("x in a", Err("found 'a' expected: '('")),
        ("x in (a", Err("found '', expected: ',' or ')'")),
        ("x in (a b)", Err("found 'b', expected: ',' or ')'")),
        (
            "x in (=)",
            Err("found '=', expected: ',', ')' or identifier"),
        ),
        ("x in (a,=)", Err("found '=', expected: ',', or identifier")),
        ("x=(a)", Err("found '(', expected: identifier")),
        ("x===a", Err("found '=', expected: identifier")),
        ("!", Err("found '', expected: identifier")),
        ("!x=a", Err("found '=', expected: ',' or 'end of string'")),
        (
            "!=a",
            Err("found '!=', expected: !, identifier, or 'end of string'"),
        ),
        (
            "=a",
            Err("found '=', expected: !, identifier, or 'end of string'"),
        ),
        (
            "x>a",
            Err(
                "values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
        ),
        ("x>", Err("the value must be an integer")),
        (
            "x>99999999999999999999",
            Err("the value must be an integer"),
        ),
        (
            "x_=a",
            Err("key: Invalid value: \"x_\": name part must consist of alphanumeric"),
        ),
        ("-x", Err("key: Invalid value: \"-x\"")),
        ("a/b/c", Err("a valid label key must consist of")),
        ("/x", Err("prefix part must be non-empty")),
        (
            "Example.com/x",
            Err("prefix part a lowercase RFC 1123 subdomain"),
        ),
        ("x/", Err("name part must be non-empty")),
        (&long_key, Err("name part must be no more than 63 bytes")),
        ("x=a b", Err("found 'b', expected: ',' or 'end of string'")),
        (
            "x=-a",
            Err("values[0][x]: Invalid value: \"-a\": a valid label must be an empty string"),
        ),
        (&long_value, Err("must be no more than 63 bytes")),
        // Indexes refer to the sorted value set, as upstream.
        ("x in (z@z,a)", Err("values[1][x]: Invalid value: \"z@z\"")),
        ("x\0=a", Err("key: Invalid value: \"x\\0\"")),
        ("x=é", Err("Invalid value: \"é\"")),
    ];
    for (input, expected) in cases {
        check(input, *expected);
    }
}

#[test]
fn parse_structure() {
    let sel = LabelSelector::parse("b in (2,1), a, !c, d>5").unwrap();
    assert_eq!(
        sel.requirements,
        vec![
            Requirement {
                key: "a".into(),
                operator: Operator::Exists,
                values: vec![]
            },
            Requirement {
                key: "b".into(),
                operator: Operator::In,
                values: vec!["1".into(), "2".into()],
            },
            Requirement {
                key: "c".into(),
                operator: Operator::DoesNotExist,
                values: vec![]
            },
            Requirement {
                key: "d".into(),
                operator: Operator::Gt,
                values: vec!["5".into()]
            },
        ]
    );
    assert!(!sel.is_everything());
    assert!(LabelSelector::parse(" ").unwrap().is_everything());
    assert!(LabelSelector::everything().is_everything());
    assert_eq!(
        "a=b".parse::<LabelSelector>().unwrap().requirements.len(),
        1
    );
}
