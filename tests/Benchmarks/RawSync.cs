using Microsoft.Win32.SafeHandles;

namespace Benchmarks;

// The raw baselines' durable write: fdatasync(2) on a file handle, as the log's own device does it.
internal static class RawSync
{
    public static void FlushData(SafeFileHandle handle)
    {
        if (fdatasync((int)handle.DangerousGetHandle()) != 0)
        {
            throw new IOException("fdatasync failed");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
#pragma warning disable SA1300, CA5392, IDE1006 // the libc name
    private static extern int fdatasync(int fd);
#pragma warning restore SA1300, CA5392, IDE1006
}
