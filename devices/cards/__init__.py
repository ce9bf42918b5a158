"""Device cards shipped with memsim (TOML data files, read by ``devices.card``); no code."""
