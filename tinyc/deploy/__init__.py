"""Build, flash and run firmware: PlatformIO, emulators, serial links."""
