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

    // FasterLog deletes the segments below a new begin address once its commit hook returns, even when the hook failed
    // to make that begin address durable: after a failure they stay, so the metadata's begin address still finds them.
    [Fact]
    public void RemoveSegment_AfterAFailure_KeepsTheSegment()
    {
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, path) => throw new IOException($"injected EIO on {path}"));
        Write(device, offset: 0);
        Assert.Throws<IOException>(device.SyncDirty);

        device.RemoveSegment(0);

        Assert.True(File.Exists(device.PathOf(0)), "the segment was deleted after the device failed");
    }

    // The same when the commit manager failed (its metadata write, say) and told the device to keep its segments.
    [Fact]
    public void RemoveSegment_AfterKeepSegments_KeepsTheSegment_AndWithoutItDeletesIt()
    {
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, _) => { });
        Write(device, offset: 0);
        Write(device, offset: 0, segment: 1);
        device.SyncDirty();

        device.RemoveSegment(0);
        device.KeepSegments();
        device.RemoveSegment(1);

        Assert.False(File.Exists(device.PathOf(0)), "an ordinary removal left the segment");
        Assert.True(File.Exists(device.PathOf(1)), "the segment was deleted after KeepSegments");
    }

    private static void Write(SegmentDevice device, ulong offset, int segment = 0)
    {
        var buffer = Marshal.AllocHGlobal(512);
        try
        {
            uint error = 0;
            device.WriteAsync(buffer, segment, offset, 512, (code, _, _) => error = code, new object());
            Assert.Equal(0u, error);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }
}
