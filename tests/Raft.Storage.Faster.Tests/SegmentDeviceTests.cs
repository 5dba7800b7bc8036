using System.Runtime.InteropServices;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster.Tests;

public sealed class SegmentDeviceTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void SyncDirty_AfterAFailedFdatasync_NeverReportsSuccessAgain()
    {
        var failing = true;
        var attempts = 0;
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, path) =>
        {
            attempts++;
            if (failing)
            {
                throw new IOException($"injected EIO on {path}");
            }
        });
        Write(device, offset: 0);

        Assert.Throws<IOException>(device.SyncDirty);

        // The disk answers again, but the kernel may have dropped the pages the failed fdatasync was flushing: a retry
        // would report them durable. The append and FasterLog's commit worker both sync, so neither may retry.
        failing = false;
        var again = Assert.Throws<IOException>(device.SyncDirty);
        Assert.Contains("failed earlier", again.Message, StringComparison.Ordinal);
        Write(device, offset: 512);
        Assert.Throws<IOException>(device.SyncDirty);
        Assert.Equal(1, attempts);
        Assert.NotNull(device.Failure);
    }

    [Fact]
    public void SyncDirty_SyncsEachWrittenSegmentOnce_AndNothingWhenNothingWasWritten()
    {
        var synced = new List<string>();
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, path) => synced.Add(Path.GetFileName(path)));
        Write(device, offset: 0);
        Write(device, offset: 512);

        device.SyncDirty();
        device.SyncDirty();

        Assert.Equal(["log.0"], synced);
        Assert.Equal(1, device.SyncCount);
    }

    private static void Write(SegmentDevice device, ulong offset)
    {
        var buffer = Marshal.AllocHGlobal(512);
        try
        {
            uint error = 0;
            device.WriteAsync(buffer, 0, offset, 512, (code, _, _) => error = code, new object());
            Assert.Equal(0u, error);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }
}
