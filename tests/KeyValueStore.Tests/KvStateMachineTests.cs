using System.Text;
using KeyValueStore.Store;
using Raft.Core.Messages;

namespace KeyValueStore.Tests;

// The sample's replicated dictionary as each node applies it: results, compare-and-swap, malformed input and snapshots.
public sealed class KvStateMachineTests
{
    private long _index;

    [Fact]
    public async Task Put_ThenGet_ReturnsTheValue_AndGetOfAMissingKeyReturnsNull()
    {
        var store = new KvStateMachine();

        Assert.True((await ApplyAsync(store, new KvCommand(KvOperation.Put, "a", "1"))).Ok);
        Assert.Equal(new KvResult(true, "1"), await QueryAsync(store, "a"));
        Assert.Equal(new KvResult(true, null), await QueryAsync(store, "missing"));
    }

    [Fact]
    public async Task Put_ToAnExistingKey_Replaces_AndDeleteRemoves()
    {
        var store = new KvStateMachine();
        await ApplyAsync(store, new KvCommand(KvOperation.Put, "a", "1"));
        await ApplyAsync(store, new KvCommand(KvOperation.Put, "a", "2"));
        Assert.Equal("2", (await QueryAsync(store, "a")).Value);
        Assert.Equal(1, store.Count);

        await ApplyAsync(store, new KvCommand(KvOperation.Delete, "a"));

        Assert.Null((await QueryAsync(store, "a")).Value);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Cas_SwapsOnlyWhenTheCurrentValueIsTheExpectedOne_NullMeaningAbsent()
    {
        var store = new KvStateMachine();

        Assert.True((await ApplyAsync(store, new KvCommand(KvOperation.Cas, "k", "1", Expected: null))).Ok);
        Assert.Equal(new KvResult(false, "1"), await ApplyAsync(store, new KvCommand(KvOperation.Cas, "k", "2", Expected: null)));
        Assert.Equal(new KvResult(false, "1"), await ApplyAsync(store, new KvCommand(KvOperation.Cas, "k", "2", Expected: "0")));
        Assert.True((await ApplyAsync(store, new KvCommand(KvOperation.Cas, "k", "2", Expected: "1"))).Ok);
        Assert.Equal("2", (await QueryAsync(store, "k")).Value);
    }

    [Fact]
    public async Task NonAsciiAndLongKeys_AreStoredAndFoundByTheirCharacters()
    {
        var store = new KvStateMachine();
        var longKey = new string('ж', 300) + "é";
        await ApplyAsync(store, new KvCommand(KvOperation.Put, "ключ", "значение"));
        await ApplyAsync(store, new KvCommand(KvOperation.Put, longKey, "long"));
        await ApplyAsync(store, new KvCommand(KvOperation.Put, longKey, "longer"));

        Assert.Equal("значение", (await QueryAsync(store, "ключ")).Value);
        Assert.Equal("longer", (await QueryAsync(store, longKey)).Value);
        Assert.Equal(2, store.Count);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 9 })]
    [InlineData(new byte[] { 1, 1, 0, 0, 0 })]
    [InlineData(new byte[] { 1, 255, 255, 255, 255, 0 })]
    public async Task AMalformedCommand_IsAnsweredWithAnError_AndChangesNothing(byte[] data)
    {
        var store = new KvStateMachine();
        await ApplyAsync(store, new KvCommand(KvOperation.Put, "a", "1"));

        var result = KvResult.Decode(await store.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, data)));

        Assert.False(result.Ok);
        Assert.StartsWith("malformed command", result.Value);
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task APutWithoutAValue_IsRefused()
    {
        var store = new KvStateMachine();

        var result = await ApplyAsync(store, new KvCommand(KvOperation.Put, "a", null));

        Assert.False(result.Ok);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task ASnapshot_RestoresEveryPair_IntoAnotherStore()
    {
        var source = new KvStateMachine();
        for (var i = 0; i < 100; i++)
        {
            await ApplyAsync(source, new KvCommand(KvOperation.Put, $"k{i}", $"v{i}-é"));
        }

        using var snapshot = new MemoryStream();
        await source.WriteSnapshotAsync(snapshot);
        snapshot.Position = 0;
        var target = new KvStateMachine();
        await ApplyAsync(target, new KvCommand(KvOperation.Put, "stale", "gone"));
        await target.RestoreSnapshotAsync(snapshot);

        Assert.Equal(100, target.Count);
        Assert.Equal("v42-é", (await QueryAsync(target, "k42")).Value);
        Assert.Null((await QueryAsync(target, "stale")).Value);
    }

    [Fact]
    public async Task ASnapshotWrittenWhenValuesWereStrings_StillRestores()
    {
        // Format 1 as first written: BinaryWriter strings for keys and values.
        using var snapshot = new MemoryStream();
        using (var writer = new BinaryWriter(snapshot, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(1);
            writer.Write(2);
            writer.Write("a");
            writer.Write("1");
            writer.Write("b");
            writer.Write("два");
        }

        snapshot.Position = 0;
        var store = new KvStateMachine();
        await store.RestoreSnapshotAsync(snapshot);

        Assert.Equal("1", (await QueryAsync(store, "a")).Value);
        Assert.Equal("два", (await QueryAsync(store, "b")).Value);
    }

    [Fact]
    public async Task ATruncatedSnapshot_IsRefused_AndTheStoreKeepsItsState()
    {
        var source = new KvStateMachine();
        await ApplyAsync(source, new KvCommand(KvOperation.Put, "a", "a value long enough to cut"));
        using var full = new MemoryStream();
        await source.WriteSnapshotAsync(full);
        var store = new KvStateMachine();
        await ApplyAsync(store, new KvCommand(KvOperation.Put, "kept", "yes"));

        await Assert.ThrowsAsync<InvalidDataException>(() => store.RestoreSnapshotAsync(new MemoryStream(full.ToArray()[..^5])).AsTask());

        Assert.Equal("yes", (await QueryAsync(store, "kept")).Value);
    }

    private async Task<KvResult> ApplyAsync(KvStateMachine store, KvCommand command) =>
        KvResult.Decode(await store.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, command.Encode())));

    private static async Task<KvResult> QueryAsync(KvStateMachine store, string key) =>
        KvResult.Decode(await store.QueryAsync(new KvCommand(KvOperation.Get, key).Encode()));
}
