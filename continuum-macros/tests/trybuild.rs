//! The compile-time contract of `#[continuum_event]` and `#[derive(Payload)]`:
//! `tests/ui/pass` must compile and run, `tests/ui/fail` must fail with
//! exactly the `.stderr` beside each case.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
