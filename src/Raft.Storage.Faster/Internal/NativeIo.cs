using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Raft.Storage.Faster.Internal;

// The durability primitives .NET does not expose: fdatasync (FileStream.Flush(true) is fsync, which also commits
// mtime changes through the journal on every call) and fsync of a directory (to make a create or rename durable).
internal static partial class NativeIo
{
    /// <summary>Makes the written data of <paramref name="handle"/> durable (fdatasync on Linux, fsync elsewhere on Unix).</summary>
    public static void FlushData(SafeFileHandle handle, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            using var stream = new FileStream(new SafeFileHandle(handle.DangerousGetHandle(), ownsHandle: false), FileAccess.ReadWrite, 0);
            stream.Flush(flushToDisk: true);
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            int result;
            do
            {
                result = OperatingSystem.IsLinux() ? FdataSync(fd) : FSync(fd);
            }
            while (result != 0 && Marshal.GetLastPInvokeError() == 4); // EINTR

            if (result != 0)
            {
                // After a failed fdatasync the kernel may have dropped the dirty pages: the data is lost, never retry.
                throw new IOException($"fdatasync of '{path}' failed with errno {Marshal.GetLastPInvokeError()}; the data written since the last sync may be lost.");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Makes the directory entries of <paramref name="directory"/> durable (creates, renames, deletes). No-op on Windows.</summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdataSync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
