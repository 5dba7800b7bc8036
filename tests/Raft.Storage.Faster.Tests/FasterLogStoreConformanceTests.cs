using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Storage.Faster.Tests;

public sealed class FasterLogStoreConformanceTests : LogStoreConformance, IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private FasterLogStore? _store;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _directory.Dispose();
    }

    protected override async ValueTask<ILogStore> CreateAsync()
    {
        _store = await FasterLogStore.OpenAsync(TestOptions.Log(_directory.Path));
        return _store;
    }

    protected override async ValueTask<ILogStore> ReopenAsync(ILogStore store)
    {
        await ((FasterLogStore)store).DisposeAsync();
        _store = await FasterLogStore.OpenAsync(TestOptions.Log(_directory.Path));
        return _store;
    }
}

// The same contract with tiny pages and segments and no cache: every read goes to disk, records pad pages often.
public sealed class FasterLogStoreTinyPagesConformanceTests : LogStoreConformance, IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private FasterLogStore? _store;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _directory.Dispose();
    }

    protected override async ValueTask<ILogStore> CreateAsync()
    {
        _store = await FasterLogStore.OpenAsync(Options());
        return _store;
    }

    protected override async ValueTask<ILogStore> ReopenAsync(ILogStore store)
    {
        await ((FasterLogStore)store).DisposeAsync();
        _store = await FasterLogStore.OpenAsync(Options());
        return _store;
    }

    // A 1 MiB entry needs a 2 MiB page; everything else runs on 64 KiB pages.
    private FasterLogStoreOptions Options() => TestOptions.Tiny(_directory.Path) with { PageSize = 2L << 20, SegmentSize = 2L << 20, MemorySize = 4L << 20, CacheSize = 0 };
}
