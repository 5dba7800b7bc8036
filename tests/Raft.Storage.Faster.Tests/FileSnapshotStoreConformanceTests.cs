using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Storage.Faster.Tests;

// The shared snapshot-store contract, on files; FileSnapshotStoreTests adds the file-specific cases (corruption, temp files).
public sealed class FileSnapshotStoreConformanceTests : SnapshotStoreConformance, IDisposable
{
    private readonly TempDirectory _directory = new();
    private FileSnapshotStore? _store;

    public void Dispose()
    {
        _store?.Dispose();
        _directory.Dispose();
    }

    protected override ValueTask<ISnapshotStore> CreateAsync()
    {
        _store = FileSnapshotStore.Open(_directory.Path);
        return ValueTask.FromResult<ISnapshotStore>(_store);
    }

    protected override ValueTask<ISnapshotStore> ReopenAsync(ISnapshotStore store)
    {
        ((FileSnapshotStore)store).Dispose();
        _store = FileSnapshotStore.Open(_directory.Path);
        return ValueTask.FromResult<ISnapshotStore>(_store);
    }
}
