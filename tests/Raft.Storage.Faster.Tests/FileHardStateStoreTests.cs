using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Storage.Faster.Tests;

public sealed class FileHardStateStoreConformanceTests : HardStateStoreConformance, IDisposable
{
    private readonly TempDirectory _directory = new();
    private FileHardStateStore? _store;

    public void Dispose()
    {
        _store?.Dispose();
        _directory.Dispose();
    }

    protected override ValueTask<IHardStateStore> CreateAsync()
    {
        _store = FileHardStateStore.Open(_directory.Sub("hardstate"));
        return ValueTask.FromResult<IHardStateStore>(_store);
    }

    protected override ValueTask<IHardStateStore> ReopenAsync(IHardStateStore store)
    {
        ((FileHardStateStore)store).Dispose();
        _store = FileHardStateStore.Open(_directory.Sub("hardstate"));
        return ValueTask.FromResult<IHardStateStore>(_store);
    }
}

public sealed class FileHardStateStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string FilePath => _directory.Sub("hardstate");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Open_ASecondStoreOnTheSameFile_FailsClearly()
    {
        using var store = FileHardStateStore.Open(FilePath);

        var error = Assert.Throws<IOException>(() => FileHardStateStore.Open(FilePath));

        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
    }

    // A save torn by a crash damages only the slot being written: the previous state comes back.
    [Fact]
    public async Task Load_WhenTheNewestSlotIsDamaged_ReturnsThePreviousState()
    {
        using (var store = FileHardStateStore.Open(FilePath))
        {
            await store.SaveAsync(new HardState(1, "a", 1));
            await store.SaveAsync(new HardState(2, "b", 2)); // sequence 2 lands in slot 0
        }

        FlipByte(FilePath, 20);

        using var reopened = FileHardStateStore.Open(FilePath);
        Assert.Equal(new HardState(1, "a", 1), await reopened.LoadAsync());
    }

    [Fact]
    public async Task Open_WhenBothSlotsAreDamaged_RefusesWithTheFileName()
    {
        using (var store = FileHardStateStore.Open(FilePath))
        {
            await store.SaveAsync(new HardState(1, "a", 1));
            await store.SaveAsync(new HardState(2, "b", 2));
        }

        FlipByte(FilePath, 20);
        FlipByte(FilePath, 4096 + 20);

        var error = Assert.Throws<LogCorruptedException>(() => FileHardStateStore.Open(FilePath));
        Assert.Equal(FilePath, error.FilePath);
    }

    [Fact]
    public async Task Open_AFileTruncatedToNothing_Refuses()
    {
        using (var store = FileHardStateStore.Open(FilePath))
        {
            await store.SaveAsync(new HardState(3, "c", 3));
        }

        File.WriteAllBytes(FilePath, []);

        Assert.Throws<LogCorruptedException>(() => FileHardStateStore.Open(FilePath));
    }

    [Fact]
    public async Task Save_AVoteTooLong_IsRejected()
    {
        using var store = FileHardStateStore.Open(FilePath);

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.SaveAsync(new HardState(1, new string('x', 5000), 0)));
    }

    [Fact]
    public async Task Save_AnEmptyVote_StaysEmptyNotNull()
    {
        using (var store = FileHardStateStore.Open(FilePath))
        {
            await store.SaveAsync(new HardState(1, "", 0));
        }

        using var reopened = FileHardStateStore.Open(FilePath);
        Assert.Equal("", (await reopened.LoadAsync()).VotedFor);
    }

    internal static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x5A));
    }
}
