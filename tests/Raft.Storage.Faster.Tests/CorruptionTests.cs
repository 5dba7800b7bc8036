using System.Buffers.Binary;
using Raft.Storage.Faster.Internal;
using static Raft.Storage.Faster.Tests.FasterLogStoreTests;

namespace Raft.Storage.Faster.Tests;

// Damage on disk is either refused with a clear error (file and offset) or, past the last durable point, dropped as a
// torn write; it never silently changes acknowledged entries.
public sealed class CorruptionTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string MetadataPath => _directory.Sub("log.meta");

    [Theory]
    [InlineData(4 + 6)] // the record header (entry type)
    [InlineData(4 + 20)] // the record header (index)
    [InlineData(4 + 40)] // the payload
    [InlineData(0)] // FasterLog's length prefix
    public async Task Open_WhenACommittedRecordIsDamaged_RefusesNamingFileAndOffset(int offsetInRecord)
    {
        var (path, offset) = await WriteLogAsync(damagedIndex: 30);

        FileHardStateStoreTests.FlipByte(path, offset + offsetInRecord);

        var error = await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
        Assert.Equal(path, error.FilePath);
        Assert.Equal(offset, error.Offset);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_WhenARecordIsDamagedWhileOpen_ThrowsNamingFileAndOffset()
    {
        await using var store = await OpenAsync(TestOptions.Log(_directory.Path) with { CacheSize = 0 });
        await store.AppendAsync(Entries(1, 50, term: 1));
        var (path, offset) = store.LocationOf(20);

        FileHardStateStoreTests.FlipByte(path, offset + 40);

        var error = await Assert.ThrowsAsync<LogCorruptedException>(async () => await store.ReadAsync(1, 50));
        Assert.Equal(offset, error.Offset);
    }

    [Fact]
    public async Task Open_WhenTheMetadataFileIsDeleted_Refuses()
    {
        await WriteLogAsync(damagedIndex: 1);

        File.Delete(MetadataPath);

        var error = await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
        Assert.Contains("metadata file is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_WhenBothMetadataSlotsAreDamaged_Refuses()
    {
        await WriteLogAsync(damagedIndex: 1);

        FileHardStateStoreTests.FlipByte(MetadataPath, 33);
        FileHardStateStoreTests.FlipByte(MetadataPath, MetadataFile.SlotSize + 33);

        var error = await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
        Assert.Equal(MetadataPath, error.FilePath);
    }

    [Fact]
    public async Task Open_WhenOneMetadataSlotIsDamaged_UsesTheOtherAndKeepsEveryEntry()
    {
        await WriteLogAsync(damagedIndex: 1);
        var newest = NewestSlot();

        FileHardStateStoreTests.FlipByte(MetadataPath, (newest * MetadataFile.SlotSize) + 33);

        await using var store = await OpenAsync();
        Assert.Equal(60, store.LastIndex);
        Assert.Equal(Entries(1, 60, 1).Select(e => e.Index), (await store.ReadAsync(1, 60)).Select(e => e.Index));
    }

    [Fact]
    public async Task Open_WhenTheSegmentFileIsTruncated_Refuses()
    {
        var (path, offset) = await WriteLogAsync(damagedIndex: 40);

        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(offset + 10);
        }

        var error = await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
        Assert.Equal(path, error.FilePath);
    }

    [Fact]
    public async Task Open_WhenTheSegmentFileIsDeleted_Refuses()
    {
        var (path, _) = await WriteLogAsync(damagedIndex: 1);

        File.Delete(path);

        await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
    }

    // A write torn by a crash after the last metadata checkpoint: the unfinished batch is dropped, earlier ones kept.
    [Fact]
    public async Task Open_WhenTheLastBatchPastTheDurablePointIsTorn_DropsOnlyThatBatch()
    {
        var store = await OpenAsync(TestOptions.Log(_directory.Path) with { CheckpointInterval = TimeSpan.FromHours(1) });
        await store.AppendAsync(Entries(1, 10, term: 1));
        await store.AppendAsync(Entries(11, 20, term: 1));
        var (path, offset) = store.LocationOf(18);
        store.CloseWithoutCheckpoint();

        FileHardStateStoreTests.FlipByte(path, offset + 40);

        await using var reopened = await OpenAsync();
        Assert.Equal(10, reopened.LastIndex);
        await reopened.AppendAsync(Entries(11, 12, term: 2));
        Assert.Equal(12, reopened.LastIndex);
    }

    // A record rewritten with a valid checksum but an index that breaks the sequence: a bug, never a torn write.
    [Fact]
    public async Task Open_WhenIndexesHaveAGapWithoutATruncation_Refuses()
    {
        var (path, offset) = await WriteLogAsync(damagedIndex: 25);

        RewriteRecord(path, offset, record => BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(16), 26));

        var error = await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
        Assert.Contains("without a truncation record", error.Message, StringComparison.Ordinal);
        Assert.Equal(offset, error.Offset);
    }

    [Fact]
    public async Task Open_WhenIndexesGoBackwardsWithoutATruncation_Refuses()
    {
        var (path, offset) = await WriteLogAsync(damagedIndex: 25);

        RewriteRecord(path, offset, record => BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(16), 3));

        await Assert.ThrowsAsync<LogCorruptedException>(() => OpenAsync());
    }

    // Writes 60 entries in batches of 10, closes cleanly and returns where entry `damagedIndex` is.
    private async Task<(string Path, long Offset)> WriteLogAsync(long damagedIndex)
    {
        await using var store = await OpenAsync();
        for (var i = 1; i <= 60; i += 10)
        {
            await store.AppendAsync(Entries(i, i + 9, term: 1, size: 64));
        }

        return store.LocationOf(damagedIndex);
    }

    private static void RewriteRecord(string path, long offset, Action<byte[]> change)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var prefix = new byte[4];
        file.Position = offset;
        file.ReadExactly(prefix);
        var record = new byte[BinaryPrimitives.ReadInt32LittleEndian(prefix)];
        file.ReadExactly(record);
        change(record);
        BinaryPrimitives.WriteUInt32LittleEndian(record, Crc32C.Compute(record.AsSpan(4)));
        file.Position = offset + 4;
        file.Write(record);
    }

    private int NewestSlot()
    {
        var bytes = File.ReadAllBytes(MetadataPath);
        return BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)) > BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(MetadataFile.SlotSize + 8)) ? 0 : 1;
    }

    private Task<FasterLogStore> OpenAsync(FasterLogStoreOptions? options = null) =>
        FasterLogStore.OpenAsync(options ?? TestOptions.Log(_directory.Path));
}
