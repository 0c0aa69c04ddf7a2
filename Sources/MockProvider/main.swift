// Entry point: parse the command line and run the server until SIGINT/SIGTERM.
import ArgumentParser

MockProviderCommand.main()
