//! Cordon and uncordon, remembering whether an operator had cordoned the node first.
