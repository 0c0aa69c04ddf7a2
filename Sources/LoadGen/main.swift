// Entry point: parse the command line, run the chosen mode, and map failures to exit codes
// (2 for bad arguments, 1 for runtime failures) as bench/run expects.
LoadGenCommand.runAndExit()
