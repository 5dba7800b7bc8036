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

    // Direct writes (O_DIRECT | O_DSYNC) are durable when they return: nothing is left for an fdatasync, which here
    // would fail the test. Linux on the file systems CI uses (ext4) accepts them; other systems write buffered.
    [Fact]
    public void DirectWrites_AreDurableOnReturn_LeaveNothingToSync_AndReadBack()
    {
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: true, flushData: (_, path) => throw new IOException($"unexpected fdatasync of {path}"), directWrites: true);
        device.PrepareNow(0);

        Write(device, offset: 0, fill: 0x5A, length: Sector);
        Write(device, offset: 2 * Sector, fill: 0xA5, length: Sector);
        device.SyncDirty();

        Assert.Equal(OperatingSystem.IsLinux(), device.WritesDirect);
        Assert.Equal(OperatingSystem.IsLinux() ? 2 : 0, device.DirectWriteCount);
        Assert.Equal(0, device.SyncCount);
        var read = new byte[3 * Sector];
        Assert.Equal(read.Length, device.Read(0, 0, read));
        Assert.All(read[..Sector], b => Assert.Equal(0x5A, b));
        Assert.All(read[Sector..(2 * Sector)], b => Assert.Equal(0, b));
        Assert.All(read[(2 * Sector)..], b => Assert.Equal(0xA5, b));
    }

    // O_DIRECT needs the buffer aligned as well; a misaligned one is copied into an aligned buffer first.
    [Fact]
    public void DirectWrites_FromAMisalignedBuffer_AreWrittenThroughAnAlignedCopy()
    {
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, directWrites: true);

        Write(device, offset: Sector, fill: 0x3C, length: Sector, bufferOffset: 8);

        Assert.Equal(OperatingSystem.IsLinux() ? 1 : 0, device.DirectWriteCount);
        var read = new byte[Sector];
        Assert.Equal(read.Length, device.Read(0, Sector, read));
        Assert.All(read, b => Assert.Equal(0x3C, b));
    }

    // Direct writes declare 4 KiB sectors, so that FASTER's writes also suit file systems whose blocks are 4 KiB; a
    // write that is not aligned fails, loudly, rather than go through the page cache beside direct writes (which could
    // write stale cached pages back over them).
    [Fact]
    public void DirectWrites_AtAnOffsetNotAlignedToASector_FailTheDeviceWithAClearMessage()
    {
        using var device = new SegmentDevice(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, directWrites: true);

        var error = Write(device, offset: 512, fill: 1, length: Sector, expectSuccess: false);

        // Elsewhere the device writes through the page cache, where any offset does.
        Assert.Equal(OperatingSystem.IsLinux() ? 1u : 0u, error);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.Equal((uint)Sector, device.SectorSize);
        Assert.Contains("not aligned to 4096 bytes", device.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("DirectWrites", device.Failure.Message, StringComparison.Ordinal);
    }

    // A file system without O_DIRECT (EINVAL from the open) makes the device write through the page cache for good,
    // decided by its first write: then each written segment is fdatasynced as without direct writes.
    [Fact]
    public void DirectWrites_RefusedByTheFileSystem_FallBackToBufferedWritesAndFdatasync()
    {
        var synced = new List<string>();
        using var device = new SegmentDevice(
            Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, path) => synced.Add(Path.GetFileName(path)), directWrites: true, openDirect: (_, _) => (-1, 22));

        Write(device, offset: 0, fill: 7, length: Sector);
        Write(device, offset: 0, fill: 8, length: Sector, segment: 1);
        device.SyncDirty();

        Assert.False(device.WritesDirect);
        Assert.Equal(0, device.DirectWriteCount);
        Assert.Equal(["log.0", "log.1"], synced);
        var read = new byte[Sector];
        Assert.Equal(read.Length, device.Read(1, 0, read));
        Assert.All(read, b => Assert.Equal(8, b));
    }

    // Once a direct write landed, the device never switches: a later segment that cannot be opened for direct writes
    // fails the device instead of being written through the page cache.
    [Fact]
    public void DirectWrites_ASegmentRefusedAfterDirectWritesLanded_FailsTheDevice()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Equal(0, NativeIo.DirectWriteFlags);
            return;
        }

        using var device = new SegmentDevice(
            Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, directWrites: true,
            openDirect: (path, dataSync) => path.EndsWith(".1", StringComparison.Ordinal) ? (-1, 22) : (NativeIo.OpenDirect(path, dataSync, out var errno), errno));
        Write(device, offset: 0, fill: 1, length: Sector);

        var error = Write(device, offset: 0, fill: 2, length: Sector, segment: 1, expectSuccess: false);

        Assert.Equal(1u, error);
        Assert.True(device.WritesDirect);
        Assert.Contains("errno 22", device.Failure!.Message, StringComparison.Ordinal);
        Assert.Throws<IOException>(device.SyncDirty);
    }

    // A new segment's zeros go through O_DIRECT as well when the device writes directly: through the page cache they
    // would cost a copy of every byte and dirty the whole segment for writeback to push out behind the appends. Not
    // O_DSYNC: one fdatasync after the zeros makes them durable, not one per chunk.
    [Fact]
    public void ZeroFill_OfADirectDevice_WritesTheZerosDirect_AndLeavesAWholeZeroSegment()
    {
        var opened = new List<string>();
        using var device = new SegmentDevice(
            Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: true, directWrites: true,
            openDirect: (path, dataSync) =>
            {
                opened.Add($"{Path.GetFileName(path)}{(dataSync ? " (O_DSYNC)" : "")}");
                return (NativeIo.OpenDirect(path, dataSync, out var errno), errno);
            });

        device.PrepareNow(0);

        // Elsewhere direct writes are not offered, and the device never asks for them.
        Assert.Equal(OperatingSystem.IsLinux() ? ["log.0.prep"] : [], opened);
        AssertZeroSegment(Path.Combine(_directory.Path, "log.0"), 1 << 20);
    }

    // A file system that refuses O_DIRECT for the new segment (EINVAL) gets its zeros through the page cache.
    [Fact]
    public void ZeroFill_RefusedDirectWrites_WritesTheZerosThroughThePageCache()
    {
        using var device = new SegmentDevice(
            Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: true, directWrites: true, openDirect: (_, _) => (-1, 22));

        device.PrepareNow(0);

        AssertZeroSegment(Path.Combine(_directory.Path, "log.0"), 1 << 20);
    }

    // A device that writes through the page cache fills its segments the same way; it never opens one for O_DIRECT.
    [Fact]
    public void ZeroFill_OfABufferedDevice_NeverOpensForDirectWrites()
    {
        using var device = new SegmentDevice(
            Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: true, directWrites: false,
            openDirect: (path, _) => throw new InvalidOperationException($"unexpected O_DIRECT open of {path}"));

        device.PrepareNow(0);

        AssertZeroSegment(Path.Combine(_directory.Path, "log.0"), 1 << 20);
    }

    private static void AssertZeroSegment(string path, int length)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(length, bytes.Length);
        Assert.True(bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0, $"{path} holds a byte other than zero");
        Assert.False(File.Exists(path + ".prep"));
    }

    private const int Sector = 4096;

    private static unsafe uint Write(SegmentDevice device, ulong offset, int segment = 0, byte fill = 0, int length = 512, int bufferOffset = 0, bool expectSuccess = true)
    {
        var memory = (byte*)NativeMemory.AlignedAlloc((nuint)(length + Sector), Sector);
        try
        {
            var buffer = memory + bufferOffset;
            new Span<byte>(buffer, length).Fill(fill);
            uint error = 0;
            device.WriteAsync((IntPtr)buffer, segment, offset, (uint)length, (code, _, _) => error = code, new object());
            if (expectSuccess)
            {
                Assert.Equal(0u, error);
            }

            return error;
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }
}
