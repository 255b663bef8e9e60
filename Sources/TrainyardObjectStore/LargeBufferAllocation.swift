#if canImport(Glibc)
import Glibc
#endif

/// Transfer buffers (multipart parts, 8 MiB each, several in flight) come from `mmap` and go back to the system when
/// freed. Without this glibc raises its mmap threshold after the first large buffers are freed and serves later ones
/// from its per-thread arenas, which keep the freed memory: the peak RSS of an upload then grows with the object's
/// size instead of staying at parts × concurrency.
enum LargeBufferAllocation {
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

    /// glibc's `M_MMAP_THRESHOLD`.
    private static let mmapThreshold: Int32 = -3

    /// Fixes the threshold at 1 MiB (which also stops glibc adjusting it); once per process.
    static let fixed: Bool = {
        #if os(Linux)
        return mallopt(mmapThreshold, 1 << 20) == 1
        #else
        return false
        #endif
    }()
}
