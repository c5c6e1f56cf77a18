//! Test-only code: the simulated system the planner and executor run against, the planner's
//! tests, and the catalogue of refused inputs.

mod bad_inputs;
pub(crate) mod plan_tests;
pub(crate) mod simulated;
