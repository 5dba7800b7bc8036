using System.Runtime.InteropServices;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster.Tests;

/// <summary>FasterLog's commit hook: who makes written pages durable, and who waits for whom.</summary>
public sealed class SlotCommitManagerTests : IDisposable
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);
    private readonly TempDirectory _directory = new();
    private readonly ManualResetEventSlim _releaseSync = new(initialState: true);
    private readonly List<string> _synced = [];

    public void Dispose()
    {
        _releaseSync.Set();
        _directory.Dispose();
    }

    // During an append the appending thread syncs its own pages; FasterLog runs the hook on a pool thread meanwhile,
    // usually during that fdatasync. The hook must not wait for it (it used to, on the device's lock: a pool thread
    // held for most of an fdatasync per append), nor claim the pages durable before the append's sync has ended.
    [Fact]
    public async Task Commit_DuringAnAppend_LeavesTheSyncToTheAppend_WithoutWaitingForItsFdatasync()
    {
        using var opened = OpenHook();
        var (device, metadata, manager) = opened;
        Write(device, offset: 0);
        _releaseSync.Reset();
        manager.AppendSyncs = true;
        var appendSync = Task.Factory.StartNew(device.SyncDirty, TaskCreationOptions.LongRunning);
        await Eventually(() => Synced() == 1, "the append's fdatasync to start");

        var hook = Task.Factory.StartNew(() => manager.Commit(0, 512, [], 1, forceWriteMetadata: false), TaskCreationOptions.LongRunning);

        Assert.Same(hook, await Task.WhenAny(hook, Task.Delay(Prompt)));
        Assert.False(appendSync.IsCompleted, "the append's fdatasync ended before it was released");
        manager.Checkpoint();
        Assert.NotEqual(512, DurableOnDisk(metadata));
        _releaseSync.Set();
        await appendSync;
        manager.MarkDurable(512);
        manager.Checkpoint();
        Assert.Equal(512, DurableOnDisk(metadata));
        Assert.Equal(1, device.SyncCount);
    }

    // Outside an append (compaction, reset, close) the hook is what makes FasterLog's commit durable.
    [Fact]
    public void Commit_OutsideAnAppend_SyncsTheWrittenPages_AndMovesTheDurablePoint()
    {
        using var opened = OpenHook();
        var (device, metadata, manager) = opened;
        Write(device, offset: 0);

        manager.Commit(0, 512, [], 1, forceWriteMetadata: false);
        manager.Checkpoint();

        Assert.Equal(1, device.SyncCount);
        Assert.Equal(512, DurableOnDisk(metadata));
    }

    // A commit that moves the begin address writes metadata that recovery trusts, right before FasterLog deletes the
    // segments below it: its data is synced first, even during an append.
    [Fact]
    public void Commit_ThatMovesTheBeginAddress_SyncsEvenDuringAnAppend()
    {
        using var opened = OpenHook();
        var (device, metadata, manager) = opened;
        Write(device, offset: 512);
        manager.AppendSyncs = true;

        manager.Commit(512, 1024, [], 1, forceWriteMetadata: false);

        Assert.Equal(1, device.SyncCount);
        Assert.Equal(1024, DurableOnDisk(metadata));
    }

    // A commit hook on an empty log, its device counting (and, while _releaseSync is reset, holding) every fdatasync.
    private Hook OpenHook()
    {
        var device = Device();
        var metadata = MetadataFile.OpenOrCreate(Path.Combine(_directory.Path, "meta"));
        return new Hook(device, metadata, new SlotCommitManager(device, metadata, new LogMetadata(0, 1, 12, 20, 0, 0), TimeSpan.FromHours(1)));
    }

    // The durable point the metadata file records (what recovery trusts).
    private static long DurableOnDisk(MetadataFile metadata) => metadata.ReadLatest(out _)?.DurableUntil ?? 0;

    private SegmentDevice Device() => new(Path.Combine(_directory.Path, "log"), 1 << 20, zeroFill: false, flushData: (_, path) =>
    {
        lock (_synced)
        {
            _synced.Add(path);
        }

        _releaseSync.Wait(TimeSpan.FromSeconds(30));
    });

    private int Synced()
    {
        lock (_synced)
        {
            return _synced.Count;
        }
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Prompt;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(5);
        }
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

    private sealed record Hook(SegmentDevice Device, MetadataFile Metadata, SlotCommitManager Manager) : IDisposable
    {
        public void Dispose()
        {
            Metadata.Dispose();
            Device.Dispose();
        }
    }
}
