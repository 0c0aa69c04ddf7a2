#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What says a watched file changed: the size, modification time and inode of the file its path
/// leads to, following symbolic links. A Kubernetes ConfigMap volume updates by swapping one
/// `..data` link while every file's own link stays as it was: reading the link itself (what
/// `FileManager.attributesOfItem` does) missed every edit made that way.
enum FileStamp {
    static func of(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ino)"
    }
}
