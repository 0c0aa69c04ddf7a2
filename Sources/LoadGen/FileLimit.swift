#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The per-process open-file limit.
///
/// Why: every connection is a file descriptor, and the usual soft limit (1024) is far below
/// the thousands of streams a run opens. Raising the soft limit to the hard one is allowed
/// without privileges; if even that is too low the run goes ahead but says so, because the
/// connect errors it will cause would otherwise look like the gateway's fault.
enum FileLimit {
    /// Raises the soft limit to the hard limit and warns (on stderr) if it is below `needed`.
    static func raise(toCover needed: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else {
            printError("LoadGen: warning: cannot read the open-file limit")
            return
        }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < rlim_t(needed) {  // RLIM_INFINITY is the largest value, so it passes
            printError(
                "LoadGen: warning: open-file limit is \(limit.rlim_cur) (hard maximum), "
                    + "but this run needs about \(needed); expect connection errors (raise it with ulimit -Hn)"
            )
        }
    }

    #if canImport(Glibc)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
