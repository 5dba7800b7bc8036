using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Storage.Faster.Tests;

public sealed class FileSnapshotStoreTests : IDisposable
{
    private static readonly ClusterConfiguration Configuration = new(["n1", "n2", "n3"], ["n4"]);
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task OpenLatest_WhenEmpty_ReturnsNull()
    {
        using var store = Open();

        Assert.Null(await store.OpenLatestAsync());
    }

    [Fact]
    public async Task Commit_ThenOpenLatest_ReturnsMetadataAndData()
    {
        using var store = Open();
        var data = Data(300_000, seed: 1);

        await WriteAsync(store, new SnapshotMetadata(42, 7, Configuration), data);

        await using var reader = await store.OpenLatestAsync();
        Assert.NotNull(reader);
        Assert.Equal(42, reader.Metadata.Index);
        Assert.Equal(7, reader.Metadata.Term);
        Assert.Equal(Configuration, reader.Metadata.Configuration);
        Assert.Equal(data, await ReadAllAsync(reader.Stream));
    }

    [Fact]
    public async Task Writer_DisposedWithoutCommit_LeavesNoTrace()
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), Data(100, 1));

        await using (var writer = await store.CreateAsync(new SnapshotMetadata(20, 2, Configuration)))
        {
            await writer.Stream.WriteAsync(Data(1000, 2));
        }

        await using var reader = await store.OpenLatestAsync();
        Assert.Equal(10, reader!.Metadata.Index);
        Assert.Single(Directory.EnumerateFiles(_directory.Path, "snapshot-*"));
    }

    [Fact]
    public async Task Commit_ANewerSnapshot_DeletesTheOlderOne()
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), Data(100, 1));

        await WriteAsync(store, new SnapshotMetadata(20, 2, Configuration), Data(200, 2));

        Assert.Single(Directory.EnumerateFiles(_directory.Path, "snapshot-*"));
        await using var reader = await store.OpenLatestAsync();
        Assert.Equal(20, reader!.Metadata.Index);
        Assert.Equal(Data(200, 2), await ReadAllAsync(reader.Stream));
    }

    [Fact]
    public async Task Commit_AnOlderSnapshotAfterANewerOne_KeepsTheNewer()
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(20, 2, Configuration), Data(200, 2));

        await WriteAsync(store, new SnapshotMetadata(10, 1, Configuration), Data(100, 1));

        await using var reader = await store.OpenLatestAsync();
        Assert.Equal(20, reader!.Metadata.Index);
    }

    [Fact]
    public async Task Reopen_AfterCommit_ReturnsTheSnapshotAndDeletesLeftoverTemporaries()
    {
        using (var store = Open())
        {
            await WriteAsync(store, new SnapshotMetadata(5, 1, Configuration), Data(5000, 3));
            var abandoned = await store.CreateAsync(new SnapshotMetadata(6, 1, Configuration));
            await abandoned.Stream.WriteAsync(Data(10, 4));
            await abandoned.Stream.FlushAsync(); // a crash now would leave the temporary file behind
        }

        using var reopened = Open();
        Assert.Empty(Directory.EnumerateFiles(_directory.Path, "*.tmp"));
        await using var reader = await reopened.OpenLatestAsync();
        Assert.Equal(Data(5000, 3), await ReadAllAsync(reader!.Stream));
    }

    [Theory]
    [InlineData(20)] // inside the header (index)
    [InlineData(100)] // inside the data
    [InlineData(-10)] // inside the trailer (data checksum)
    public async Task OpenLatest_WhenAByteIsFlipped_ThrowsInvalidData(int offset)
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(9, 3, Configuration), Data(4096, 5));
        var path = Directory.EnumerateFiles(_directory.Path, "snapshot-*").Single();

        FileHardStateStoreTests.FlipByte(path, offset >= 0 ? offset : new FileInfo(path).Length + offset);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await store.OpenLatestAsync());
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenLatest_WhenTheFileIsTruncated_ThrowsInvalidData()
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(9, 3, Configuration), Data(4096, 5));
        var path = Directory.EnumerateFiles(_directory.Path, "snapshot-*").Single();
        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(file.Length - 100);
        }

        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.OpenLatestAsync());
    }

    // A leader sends its newest snapshot to a follower (OpenLatest) while its applier commits a newer one, which deletes
    // the older file: the store is documented thread-safe, so the reader gets one of the two, never "file not found"
    // (RaftNode stops the node on any error opening the snapshot it must send).
    [Fact]
    public async Task OpenLatest_WhileNewerSnapshotsCommit_AlwaysOpensACommittedSnapshot()
    {
        using var store = Open();
        await WriteAsync(store, new SnapshotMetadata(1, 1, Configuration), Data(16, 1));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var committing = Task.Run(async () =>
        {
            for (var index = 2L; !stop.IsCancellationRequested; index++)
            {
                await WriteAsync(store, new SnapshotMetadata(index, 1, Configuration), Data(16, (int)index));
            }
        });

        var failures = new List<Exception>();
        var opened = 0;
        try
        {
            while (!stop.IsCancellationRequested && failures.Count == 0)
            {
                try
                {
                    await using var reader = await store.OpenLatestAsync();
                    Assert.NotNull(reader);
                    opened++;
                }
                catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
                {
                    failures.Add(ex);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await committing;
        }

        Assert.True(failures.Count == 0, $"OpenLatestAsync failed after {opened} successful opens: {(failures.Count > 0 ? failures[0].ToString() : "")}");
    }

    [Fact]
    public void Open_ASecondStoreOnTheSameDirectory_FailsClearly()
    {
        using var store = Open();

        Assert.Throws<IOException>(Open);
    }

    // A new node's stores create their directories, parents included (each made durable in the one holding it), and
    // a snapshot committed there reads back.
    [Fact]
    public async Task Open_InADirectoryWhoseParentsAreMissing_CreatesThemAll()
    {
        var nested = Path.Combine(_directory.Path, "a", "b", "snapshots");
        using var store = FileSnapshotStore.Open(nested);
        await WriteAsync(store, new SnapshotMetadata(3, 1, Configuration), Data(16, 3));

        await using var reader = await store.OpenLatestAsync();
        Assert.Equal(3, reader!.Metadata.Index);
    }

    private static async Task WriteAsync(FileSnapshotStore store, SnapshotMetadata metadata, byte[] data)
    {
        await using var writer = await store.CreateAsync(metadata);
        for (var offset = 0; offset < data.Length; offset += 7000)
        {
            await writer.Stream.WriteAsync(data.AsMemory(offset, Math.Min(7000, data.Length - offset)));
        }

        await writer.CommitAsync();
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static byte[] Data(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private FileSnapshotStore Open() => FileSnapshotStore.Open(_directory.Path);
}
