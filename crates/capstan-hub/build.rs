// `sqlx::migrate!()` embeds the migrations at compile time; stable rustc does not track the
// folder, so ask cargo to rebuild when a migration is added or edited.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
