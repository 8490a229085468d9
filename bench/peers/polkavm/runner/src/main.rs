fn main() { let _ = polkavm::Config::new(); }
