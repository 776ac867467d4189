//! A VAE run stopped by Ctrl-C after two epochs and resumed ends exactly as the run left alone.

#[test]
fn a_stopped_and_resumed_run_ends_as_the_run_left_alone() {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_ch04_vae"));
    dgm_core::testing::assert_resume_is_exact(binary, &["vae", "--quick", "--epochs", "4"], 2);
}
