using Raft.Core.Messages;
using Raft.Testing.KeyValue;

namespace Raft.Core.Tests.Simulation;

public sealed class KvStateMachineTests
{
    [Theory]
    [InlineData(KvCommandType.Get, "k", null, null)]
    [InlineData(KvCommandType.Put, "k", "v", null)]
    [InlineData(KvCommandType.Delete, "k", null, null)]
    [InlineData(KvCommandType.Cas, "ключ", "nouvelle", null)]
    [InlineData(KvCommandType.Cas, "k", "new", "")]
    public void KvCommand_EncodeThenDecode_RoundTrips(KvCommandType type, string key, string? value, string? expected)
    {
        var command = new KvCommand(type, 0x1234_5678_9abc, key, value, expected);

        Assert.Equal(command, KvCommand.Decode(command.Encode()));
    }

    [Fact]
    public void KvResult_EncodeThenDecode_RoundTrips()
    {
        Assert.Equal(new KvResult(true, null), KvResult.Decode(new KvResult(true, null).Encode()));
        Assert.Equal(new KvResult(false, "v"), KvResult.Decode(new KvResult(false, "v").Encode()));
    }

    [Fact]
    public void KvCommand_Garbage_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => KvCommand.Decode([9, 0, 0]));
        Assert.Throws<FormatException>(() => KvCommand.Decode([1, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]));
    }

    [Fact]
    public void KvStateMachine_Commands_FollowTheKeyValueModel()
    {
        var machine = new KvStateMachine();
        var index = 0L;
        KvResult Run(KvCommandType type, string? value = null, string? expected = null)
        {
            var entry = new Entry(++index, 1, EntryType.Normal, new KvCommand(type, index, "k", value, expected).Encode());
            return KvResult.Decode(machine.ApplyAsync(entry).Result.Span);
        }

        Assert.Equal(new KvResult(true, null), Run(KvCommandType.Get));
        Assert.True(Run(KvCommandType.Cas, "a", expected: null).Ok);
        Assert.Equal(new KvResult(false, "a"), Run(KvCommandType.Cas, "b", expected: "x"));
        Assert.True(Run(KvCommandType.Cas, "b", expected: "a").Ok);
        Assert.Equal(new KvResult(true, "b"), Run(KvCommandType.Get));
        Run(KvCommandType.Put, "c");
        Assert.Equal("{k=c}", machine.Describe());
        Run(KvCommandType.Delete);
        Assert.Equal(new KvResult(true, null), Run(KvCommandType.Get));
        Assert.Equal(index, machine.LastApplied);
    }

    [Fact]
    public void KvStateMachine_EntryAppliedTwice_Throws()
    {
        var machine = new KvStateMachine();
        var entry = new Entry(1, 1, EntryType.Normal, new KvCommand(KvCommandType.Get, 1, "k").Encode());
        _ = machine.ApplyAsync(entry);

        Assert.Throws<InvalidOperationException>(() => machine.ApplyAsync(entry));
    }

    [Fact]
    public void KvStateMachine_SnapshotThenRestore_GivesTheSameStateAndBytes()
    {
        var machine = new KvStateMachine();
        _ = machine.ApplyAsync(new Entry(1, 1, EntryType.Normal, new KvCommand(KvCommandType.Put, 1, "b", "2").Encode()));
        _ = machine.ApplyAsync(new Entry(3, 1, EntryType.Normal, new KvCommand(KvCommandType.Put, 2, "a", "1").Encode()));
        var snapshot = Snapshot(machine);

        var restored = new KvStateMachine();
        _ = restored.ApplyAsync(new Entry(1, 1, EntryType.Normal, new KvCommand(KvCommandType.Put, 9, "stale", "x").Encode()));
        _ = restored.RestoreSnapshotAsync(new MemoryStream(snapshot));

        // The simulator compares states by their snapshot bytes: equal states must serialize alike.
        Assert.Equal("{a=1, b=2}", restored.Describe());
        Assert.Equal(3, restored.LastApplied);
        Assert.Equal(snapshot, Snapshot(restored));
    }

    [Fact]
    public void KvStateMachine_RestoreFromGarbageOrTruncatedData_ThrowsInvalidData()
    {
        var machine = new KvStateMachine();
        _ = machine.ApplyAsync(new Entry(1, 1, EntryType.Normal, new KvCommand(KvCommandType.Put, 1, "k", "v").Encode()));
        var snapshot = Snapshot(machine);

        Assert.Throws<InvalidDataException>(() => new KvStateMachine().RestoreSnapshotAsync(new MemoryStream([1, 2, 3, 4, 5])));
        Assert.Throws<InvalidDataException>(() => new KvStateMachine().RestoreSnapshotAsync(new MemoryStream(snapshot[..^2])));
    }

    private static byte[] Snapshot(KvStateMachine machine)
    {
        using var data = new MemoryStream();
        _ = machine.WriteSnapshotAsync(data);
        return data.ToArray();
    }
}
