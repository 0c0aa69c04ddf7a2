import ArgumentParser

// Top-level entry point; the command itself is `Microbench` (a file named main.swift cannot use @main).
Microbench.main()
