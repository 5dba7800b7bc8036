using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Raft.Storage.Faster.Internal;

// The durability primitives .NET does not expose: fdatasync (FileStream.Flush(true) is fsync, which also commits
// mtime changes through the journal on every call), fsync of a directory (to make a create or rename durable), and
// writes through O_DIRECT | O_DSYNC (FileOptions.WriteThrough is O_SYNC, and nothing maps to O_DIRECT on Linux).
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
            while (result != 0 && Marshal.GetLastPInvokeError() == EINTR);

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

    /// <summary>
    /// Creates <paramref name="directory"/> and any missing parents, each made durable by an fsync of the directory
    /// that holds it: a power loss after a store wrote into a new directory could otherwise lose the directory's own
    /// entry, and everything in it with it (found by a review in session 30).
    /// </summary>
    public static void CreateDirectoryDurably(string directory)
    {
        var missing = new Stack<string>();
        for (var path = Path.GetFullPath(directory); !Directory.Exists(path); path = Path.GetDirectoryName(path)!)
        {
            missing.Push(path);
            if (Path.GetDirectoryName(path) is null)
            {
                break;
            }
        }

        Directory.CreateDirectory(directory);
        foreach (var created in missing)
        {
            if (Path.GetDirectoryName(created) is { } parent)
            {
                FlushDirectory(parent);
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

    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EINVAL = 22;

    private const int ODsync = 0x1000;

    // O_DIRECT differs between architectures (O_DSYNC does not); 0 where direct writes are not offered.
    public static int DirectWriteFlags { get; } = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x4000 | ODsync, // O_DIRECT | O_DSYNC
        Architecture.Arm64 => 0x10000 | ODsync,
        _ => 0,
    };

    /// <summary>
    /// Opens <paramref name="path"/> for writing with O_DIRECT, and O_DSYNC when <paramref name="dataSync"/> (every write
    /// durable when it returns); returns the descriptor, or -1 and the errno.
    /// </summary>
    public static int OpenDirect(string path, bool dataSync, out int errno)
    {
        errno = 0;
        if (DirectWriteFlags == 0)
        {
            errno = EINVAL;
            return -1;
        }

        var flags = dataSync ? DirectWriteFlags : DirectWriteFlags & ~ODsync;
        var fd = Open(path, 1 /* O_WRONLY */ | 0x80000 /* O_CLOEXEC */ | flags);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
        }

        return fd;
    }

    /// <summary>
    /// Writes all <paramref name="count"/> bytes at <paramref name="offset"/> with pwrite(2), continuing after short
    /// writes and EINTR. Returns 0, or the errno of the write that failed (EIO for one that wrote nothing), with
    /// <paramref name="written"/> the bytes written before it.
    /// </summary>
    public static unsafe int PWriteAll(int fd, byte* buffer, long count, long offset, out long written)
    {
        written = 0;
        while (written < count)
        {
            var n = PWriteNative(fd, buffer + written, (nuint)(count - written), offset + written);
            if (n > 0)
            {
                written += n;
                continue;
            }

            var errno = n == 0 ? EIO : Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                return errno;
            }
        }

        return 0;
    }

    public static void CloseFd(int fd) => _ = Close(fd);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static unsafe partial nint PWriteNative(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdataSync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
