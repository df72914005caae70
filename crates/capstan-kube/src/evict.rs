//! The eviction client: policy/v1 evictions with UID preconditions, and their outcomes.
