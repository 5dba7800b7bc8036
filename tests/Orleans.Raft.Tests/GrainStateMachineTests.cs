using Orleans.Raft.StateMachine;
using Raft.Core.Messages;

namespace Orleans.Raft.Tests;

// The replicated store on its own: conditional writes, ETags from log indexes, sessions (thesis §6.3), snapshots.
public sealed class GrainStateMachineTests
{
    private static readonly GrainStateKey Key = new("counter", "k1", "s");

    private readonly GrainStateMachine _machine = new();
    private long _index;

    [Fact]
    public async Task Write_WithExpectedETag_StoresDataWithEntryIndexAsETag()
    {
        var session = await RegisterAsync();
        var answer = await ApplyAsync(Write(session, 1, expected: 0, "a"));

        Assert.Equal(CommandStatus.Applied, answer.Status);
        Assert.Equal(_index, answer.ETag);
        Assert.True(_machine.TryGet(Key, out var stored));
        Assert.Equal(_index, stored.ETag);
        Assert.Equal("a"u8.ToArray(), stored.Data);
    }

    [Fact]
    public async Task Write_WithStaleETag_IsRefusedWithStoredETag()
    {
        var session = await RegisterAsync();
        var first = await ApplyAsync(Write(session, 1, expected: 0, "a"));
        var conflict = await ApplyAsync(Write(session, 2, expected: 0, "b"));

        Assert.Equal(CommandStatus.ETagMismatch, conflict.Status);
        Assert.Equal(first.ETag, conflict.ETag);
        Assert.True(_machine.TryGet(Key, out var stored));
        Assert.Equal("a"u8.ToArray(), stored.Data);
    }

    // §6.3: a retried request gets the first attempt's answer and is not applied again.
    [Fact]
    public async Task Write_RetriedWithSameRequestId_AppliesOnceAndRepeatsAnswer()
    {
        var session = await RegisterAsync();
        var first = await ApplyAsync(Write(session, 1, expected: 0, "a"));
        var retry = await ApplyAsync(Write(session, 1, expected: 0, "a"));

        Assert.Equal(first, retry);
        Assert.True(_machine.TryGet(Key, out var stored));
        Assert.Equal(first.ETag, stored.ETag);
    }

    [Fact]
    public async Task Write_BelowAcknowledgedRequests_IsRefusedAsStale()
    {
        var session = await RegisterAsync();
        await ApplyAsync(Write(session, 1, expected: 0, "a"));
        var second = await ApplyAsync(Write(session, 2, expected: _index, "b", lowest: 2));
        var late = await ApplyAsync(Write(session, 1, expected: 0, "a", lowest: 1));

        Assert.Equal(CommandStatus.Applied, second.Status);
        Assert.Equal(CommandStatus.StaleRequest, late.Status);
    }

    [Fact]
    public async Task Write_InUnknownSession_IsRefused()
    {
        var answer = await ApplyAsync(Write(sessionId: 999, requestId: 1, expected: 0, "a"));

        Assert.Equal(CommandStatus.SessionUnknown, answer.Status);
        Assert.False(_machine.TryGet(Key, out _));
    }

    [Fact]
    public async Task Clear_KeepsTombstoneWithNewETag_UnlessDeleting()
    {
        var session = await RegisterAsync();
        var written = await ApplyAsync(Write(session, 1, expected: 0, "a"));
        var cleared = await ApplyAsync(Clear(session, 2, written.ETag, delete: false));

        Assert.Equal(CommandStatus.Applied, cleared.Status);
        Assert.True(cleared.ETag > written.ETag);
        Assert.True(_machine.TryGet(Key, out var tombstone));
        Assert.False(tombstone.RecordExists);

        var deleted = await ApplyAsync(Clear(session, 3, cleared.ETag, delete: true));
        Assert.Equal(new CommandAnswer(CommandStatus.Applied, 0), deleted);
        Assert.False(_machine.TryGet(Key, out _));
    }

    [Fact]
    public async Task Snapshot_RoundTrip_KeepsStatesAndSessionAnswers()
    {
        var session = await RegisterAsync();
        var written = await ApplyAsync(Write(session, 1, expected: 0, "a"));
        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);

        var restored = new GrainStateMachine();
        snapshot.Position = 0;
        await restored.RestoreSnapshotAsync(snapshot);

        Assert.True(restored.TryGet(Key, out var stored));
        Assert.Equal(written.ETag, stored.ETag);
        var retry = CommandAnswer.Decode((await restored.ApplyAsync(Entry(Write(session, 1, expected: 0, "a")))).Span);
        Assert.Equal(written, retry);
    }

    // §6.3: answers arrive out of request order (concurrent writers); acknowledging drops exactly those below the
    // client's lowest unacknowledged request, and a snapshot keeps the rest, in request order whatever the history.
    [Fact]
    public async Task Answers_AcknowledgedOutOfOrder_KeepExactlyTheUnacknowledgedOnesThroughASnapshot()
    {
        var session = await RegisterAsync();
        var answers = new Dictionary<long, CommandAnswer>();
        foreach (var requestId in new long[] { 3, 1, 6, 2, 5, 4 })
        {
            answers[requestId] = await ApplyAsync(Write(session, requestId, expected: 0, "a"));
        }

        // Request 7 tells the store that the client got the answers of 1 to 3.
        answers[7] = await ApplyAsync(Write(session, 7, expected: 0, "a", lowest: 4));
        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);
        var restored = new GrainStateMachine();
        snapshot.Position = 0;
        await restored.RestoreSnapshotAsync(snapshot);
        using var again = new MemoryStream();
        await restored.WriteSnapshotAsync(again);

        Assert.Equal(snapshot.ToArray(), again.ToArray());
        foreach (var machine in new[] { _machine, restored })
        {
            for (var requestId = 1L; requestId <= 7; requestId++)
            {
                var retry = CommandAnswer.Decode((await machine.ApplyAsync(Entry(Write(session, requestId, expected: 0, "a", lowest: 4)))).Span);
                Assert.Equal(requestId < 4 ? new CommandAnswer(CommandStatus.StaleRequest, 0) : answers[requestId], retry);
            }
        }
    }

    [Fact]
    public async Task Restore_OfForeignData_ThrowsInvalidData()
    {
        using var garbage = new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8]);
        await Assert.ThrowsAsync<InvalidDataException>(() => _machine.RestoreSnapshotAsync(garbage).AsTask());
    }

    [Fact]
    public void Command_EncodeDecode_RoundTrips()
    {
        var command = new GrainStateCommand
        {
            Kind = CommandKind.Write, SessionId = 5, RequestId = 7, LowestUnacknowledged = 6, Key = new("t", "ключ", "s"),
            ExpectedETag = 42, Data = new byte[] { 1, 2, 3 },
        };
        var decoded = GrainStateCommand.Decode(command.Encode());

        Assert.Equal(command.Key, decoded.Key);
        Assert.Equal((5L, 7L, 6L, 42L), (decoded.SessionId, decoded.RequestId, decoded.LowestUnacknowledged, decoded.ExpectedETag));
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.Data.ToArray());
    }

    private async Task<long> RegisterAsync() => (await ApplyAsync(GrainStateCommand.RegisterSession())).ETag;

    private async Task<CommandAnswer> ApplyAsync(byte[] command) =>
        CommandAnswer.Decode((await _machine.ApplyAsync(Entry(command))).Span);

    private Entry Entry(byte[] command) => new(++_index, 1, EntryType.Normal, command);

    private static byte[] Write(long sessionId, long requestId, long expected, string data, long lowest = 1) => new GrainStateCommand
    {
        Kind = CommandKind.Write, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = lowest, Key = Key,
        ExpectedETag = expected, Data = System.Text.Encoding.UTF8.GetBytes(data),
    }.Encode();

    private static byte[] Clear(long sessionId, long requestId, long expected, bool delete) => new GrainStateCommand
    {
        Kind = CommandKind.Clear, SessionId = sessionId, RequestId = requestId, LowestUnacknowledged = requestId, Key = Key,
        ExpectedETag = expected, DeleteOnClear = delete,
    }.Encode();
}
