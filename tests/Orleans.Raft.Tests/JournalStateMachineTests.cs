using System.Buffers.Binary;
using Orleans.Raft.StateMachine;
using Raft.Core.Messages;

namespace Orleans.Raft.Tests;

// The journal keyspace of the replicated store on its own: conditional appends, replaces and deletes with log-index
// ETags, snapshots that trim, at-most-once retries (thesis §6.3), Raft snapshots, and readers racing the applier.
public sealed class JournalStateMachineTests
{
    private static readonly GrainStateKey Key = new("journaled", "k1", "log");

    private readonly GrainStateMachine _machine = new();
    private long _index;
    private long _session;
    private long _requestId;

    [Fact]
    public async Task Append_WithExpectedETag_AddsRecordsAndTakesEntryIndexAsETag()
    {
        var first = await AppendAsync(expected: 0, ["a", "b"], new Dictionary<string, string> { ["format"] = "json" });
        var second = await AppendAsync(first.ETag, ["c"]);

        Assert.Equal(new CommandAnswer(CommandStatus.Applied, _index), second);
        var journal = Journal();
        Assert.True(journal.Exists);
        Assert.Equal(second.ETag, journal.ETag);
        Assert.Equal(3, journal.Count);
        Assert.Equal(0, journal.FirstRetained);
        Assert.Equal(["a", "b", "c"], Texts(journal.Retained));
        Assert.Equal("json", journal.Properties["format"]);
    }

    [Fact]
    public async Task Append_WithStaleETag_IsRefusedWithStoredETagAndChangesNothing()
    {
        var first = await AppendAsync(expected: 0, ["a"]);
        var conflict = await AppendAsync(expected: 0, ["b"]);
        var wrong = await AppendAsync(expected: first.ETag + 100, ["b"]);

        Assert.Equal(new CommandAnswer(CommandStatus.ETagMismatch, first.ETag), conflict);
        Assert.Equal(new CommandAnswer(CommandStatus.ETagMismatch, first.ETag), wrong);
        Assert.Equal(["a"], Texts(Journal().Retained));
    }

    // §6.3: a retried append gets the first attempt's answer and does not add its records twice.
    [Fact]
    public async Task Append_RetriedWithSameRequestId_AppliesOnce()
    {
        await RegisterAsync();
        var command = JournalCommand(CommandKind.JournalAppend, ++_requestId, expected: 0, ["a", "b"]);
        var first = await ApplyAsync(command);
        var retry = await ApplyAsync(command);

        Assert.Equal(first, retry);
        Assert.Equal(2, Journal().Count);
    }

    [Fact]
    public async Task Replace_KeepsOnlyItsRecords_RestartsCount_DropsSnapshot_KeepsProperties()
    {
        var appended = await AppendAsync(expected: 0, ["a", "b", "c"], new Dictionary<string, string> { ["format"] = "json" });
        Assert.Equal(CommandStatus.Applied, (await SnapshotAsync(atCount: 2, "view@2", trim: true)).Status);
        var replaced = await ApplyAsync(JournalCommand(CommandKind.JournalReplace, ++_requestId, appended.ETag, ["snap"],
            new Dictionary<string, string> { ["extra"] = "1" }));

        Assert.Equal(new CommandAnswer(CommandStatus.Applied, _index), replaced);
        var journal = Journal();
        Assert.Equal((1L, 0L), (journal.Count, journal.FirstRetained));
        Assert.Equal(["snap"], Texts(journal.Retained));
        Assert.Null(journal.Snapshot);
        Assert.Equal(("json", "1"), (journal.Properties["format"], journal.Properties["extra"]));
    }

    [Fact]
    public async Task Replace_WithStaleETag_IsRefused()
    {
        var appended = await AppendAsync(expected: 0, ["a"]);
        await AppendAsync(appended.ETag, ["b"]);
        var stale = await ApplyAsync(JournalCommand(CommandKind.JournalReplace, ++_requestId, appended.ETag, ["x"]));

        Assert.Equal(CommandStatus.ETagMismatch, stale.Status);
        Assert.Equal(["a", "b"], Texts(Journal().Retained));
    }

    // AdoNet's convention, as for grain states: the tombstone's ETag is new, so an activation that read the journal
    // before (or read nothing: ETag 0) cannot write it again.
    [Fact]
    public async Task Delete_KeepsTombstoneWithNewETag_StaleWritersCannotResurrect()
    {
        var appended = await AppendAsync(expected: 0, ["a"], new Dictionary<string, string> { ["format"] = "json" });
        var deleted = await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, appended.ETag, []));

        Assert.Equal(new CommandAnswer(CommandStatus.Applied, _index), deleted);
        var tombstone = Journal();
        Assert.False(tombstone.Exists);
        Assert.Equal((0L, deleted.ETag), (tombstone.Count, tombstone.ETag));
        Assert.Empty(tombstone.Properties);

        Assert.Equal(new CommandAnswer(CommandStatus.ETagMismatch, deleted.ETag), await AppendAsync(expected: 0, ["zombie"]));
        Assert.Equal(new CommandAnswer(CommandStatus.ETagMismatch, deleted.ETag), await AppendAsync(appended.ETag, ["zombie"]));

        var reborn = await AppendAsync(deleted.ETag, ["new"]);
        Assert.Equal(CommandStatus.Applied, reborn.Status);
        Assert.Equal(1L, Journal().Count);
        Assert.Equal(["new"], Texts(Journal().Retained));
    }

    [Fact]
    public async Task Delete_OfNeverWrittenJournal_AppliesWithoutTombstone_UnlessETagIsStale()
    {
        await RegisterAsync();
        Assert.Equal(new CommandAnswer(CommandStatus.Applied, 0), await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, 0, [])));
        Assert.Equal(new CommandAnswer(CommandStatus.ETagMismatch, 0), await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, 5, [])));
        Assert.False(_machine.TryGetJournal(Key, out _));
    }

    [Fact]
    public async Task Snapshot_KeepsETag_TrimsRecordsBelowIt_AndOnlyNewerOnesReplaceIt()
    {
        var appended = await AppendAsync(expected: 0, Enumerable.Range(0, 600).Select(i => $"r{i}").ToArray());

        var stored = await SnapshotAsync(atCount: 300, "view@300", trim: false);
        Assert.Equal(new CommandAnswer(CommandStatus.Applied, appended.ETag), stored);
        Assert.Equal((0L, 300L), (Journal().FirstRetained, Journal().SnapshotCount));

        var trimmed = await SnapshotAsync(atCount: 520, "view@520", trim: true);
        Assert.Equal(CommandStatus.Applied, trimmed.Status);
        var journal = Journal();
        Assert.Equal((appended.ETag, 600L, 520L, 520L), (journal.ETag, journal.Count, journal.FirstRetained, journal.SnapshotCount));
        Assert.Equal("view@520", System.Text.Encoding.UTF8.GetString(journal.Snapshot!.Value.Span));
        Assert.Equal(Enumerable.Range(520, 80).Select(i => $"r{i}"), Texts(journal.Retained));

        Assert.Equal(new CommandAnswer(CommandStatus.SnapshotNotNewer, 520), await SnapshotAsync(atCount: 520, "again", trim: false));
        Assert.Equal(new CommandAnswer(CommandStatus.SnapshotNotNewer, 520), await SnapshotAsync(atCount: 400, "older", trim: true));
        Assert.Equal(new CommandAnswer(CommandStatus.OutOfRange, 600), await SnapshotAsync(atCount: 601, "future", trim: false));

        // Appends continue after a trim, and the ETag check still holds them to the latest writer.
        var next = await AppendAsync(appended.ETag, ["r600"]);
        Assert.Equal(CommandStatus.Applied, next.Status);
        Assert.Equal(601L, Journal().Count);
        Assert.Equal(["r600"], Texts(Journal().Range(600, 601)));
    }

    [Fact]
    public async Task Snapshot_OfMissingOrDeletedJournal_IsRefusedAsAnotherIncarnation()
    {
        Assert.Equal(new CommandAnswer(CommandStatus.IncarnationChanged, 0), await SnapshotAsync(atCount: 0, "x", trim: false));
        var appended = await AppendAsync(expected: 0, ["a"]);
        await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, appended.ETag, []));
        Assert.Equal(new CommandAnswer(CommandStatus.IncarnationChanged, 0), await SnapshotAsync(atCount: 0, "x", trim: false, incarnation: appended.ETag));
        Assert.False(Journal().Exists);
    }

    // The incarnation is the log index of the entry that started it: an append onto nothing or a tombstone, or a
    // replace. Appends onto a live journal and snapshots keep it; a tombstone has none.
    [Fact]
    public async Task Incarnation_StartsWithFirstAppendOrReplace_AndAppendsAndSnapshotsKeepIt()
    {
        var first = await AppendAsync(expected: 0, ["a", "b"]);
        Assert.Equal(first.ETag, Journal().Incarnation);
        var second = await AppendAsync(first.ETag, ["c"]);
        Assert.Equal(CommandStatus.Applied, (await SnapshotAsync(atCount: 2, "v", trim: true)).Status);
        Assert.Equal((first.ETag, second.ETag), (Journal().Incarnation, Journal().ETag));

        var replaced = await ApplyAsync(JournalCommand(CommandKind.JournalReplace, ++_requestId, second.ETag, ["abc"]));
        Assert.Equal(replaced.ETag, Journal().Incarnation);
        var deleted = await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, replaced.ETag, []));
        Assert.Equal(0L, Journal().Incarnation);
        var reborn = await AppendAsync(deleted.ETag, ["new"]);
        Assert.Equal(reborn.ETag, Journal().Incarnation);
    }

    // The race the incarnation closes: an activation snapshots (with trim) the journal it read, but before its command
    // is applied another deletes the journal and appends a new history past the snapshot's count. The stale snapshot
    // must not trim (nor describe) the new history.
    [Fact]
    public async Task Snapshot_FromAnEarlierIncarnation_AfterDeleteAndNewAppends_IsRefused_AndTrimsNothing()
    {
        var old = await AppendAsync(expected: 0, Enumerable.Range(0, 10).Select(i => $"old{i}").ToArray());
        var deleted = await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, old.ETag, []));
        var reborn = await AppendAsync(deleted.ETag, Enumerable.Range(0, 12).Select(i => $"new{i}").ToArray());

        var stale = await SnapshotAsync(atCount: 8, "old view@8", trim: true, incarnation: old.ETag);

        Assert.Equal(new CommandAnswer(CommandStatus.IncarnationChanged, reborn.ETag), stale);
        var journal = Journal();
        Assert.Equal((reborn.ETag, reborn.ETag, 12L, 0L, 0L), (journal.ETag, journal.Incarnation, journal.Count, journal.FirstRetained, journal.SnapshotCount));
        Assert.Null(journal.Snapshot);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"new{i}"), Texts(journal.Retained));

        // The new incarnation's own snapshot still applies.
        Assert.Equal(new CommandAnswer(CommandStatus.Applied, reborn.ETag), await SnapshotAsync(atCount: 8, "new view@8", trim: true));
        Assert.Equal(8L, Journal().FirstRetained);
    }

    [Fact]
    public async Task Snapshot_FromBeforeAReplace_IsRefused_AndTrimsNothing()
    {
        var old = await AppendAsync(expected: 0, Enumerable.Range(0, 6).Select(i => $"old{i}").ToArray());
        var replaced = await ApplyAsync(JournalCommand(CommandKind.JournalReplace, ++_requestId, old.ETag, ["c0", "c1", "c2", "c3"]));

        Assert.Equal(new CommandAnswer(CommandStatus.IncarnationChanged, replaced.ETag), await SnapshotAsync(atCount: 3, "old view@3", trim: true, incarnation: old.ETag));
        Assert.Equal((4L, 0L), (Journal().Count, Journal().FirstRetained));
        Assert.Null(Journal().Snapshot);
    }

    [Fact]
    public async Task Journals_AreSeparateFromGrainStatesOfTheSameKey()
    {
        await AppendAsync(expected: 0, ["a"]);
        Assert.False(_machine.TryGet(Key, out _));
        var write = await ApplyAsync(new GrainStateCommand
        {
            Kind = CommandKind.Write, SessionId = _session, RequestId = ++_requestId, LowestUnacknowledged = 1, Key = Key, Data = new byte[] { 1 },
        }.Encode());
        Assert.Equal(CommandStatus.Applied, write.Status);
        Assert.Equal(1, Journal().Count);
    }

    [Fact]
    public async Task RaftSnapshot_RoundTrip_KeepsJournalsTrimsTombstonesAndSessionAnswers()
    {
        var other = new GrainStateKey("journaled", "k2", "log");
        var appended = await AppendAsync(expected: 0, Enumerable.Range(0, 700).Select(i => $"r{i}").ToArray(), new Dictionary<string, string> { ["format"] = "json" });
        await SnapshotAsync(atCount: 650, "view@650", trim: true);
        var retried = JournalCommand(CommandKind.JournalAppend, ++_requestId, appended.ETag, ["r700"]);
        var answer = await ApplyAsync(retried);
        var otherAppend = await ApplyAsync(JournalCommand(CommandKind.JournalAppend, ++_requestId, 0, ["x"], key: other));
        await ApplyAsync(JournalCommand(CommandKind.JournalDelete, ++_requestId, otherAppend.ETag, [], key: other));

        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);
        var restored = new GrainStateMachine();
        snapshot.Position = 0;
        await restored.RestoreSnapshotAsync(snapshot);

        Assert.True(restored.TryGetJournal(Key, out var journal));
        var original = Journal();
        Assert.Equal(
            (original.ETag, original.Incarnation, original.Count, original.FirstRetained, original.SnapshotCount),
            (journal.ETag, journal.Incarnation, journal.Count, journal.FirstRetained, journal.SnapshotCount));
        Assert.Equal(appended.ETag, journal.Incarnation);
        Assert.Equal(Texts(original.Retained), Texts(journal.Retained));
        Assert.Equal("view@650", System.Text.Encoding.UTF8.GetString(journal.Snapshot!.Value.Span));
        Assert.Equal("json", journal.Properties["format"]);
        Assert.True(restored.TryGetJournal(other, out var tombstone));
        Assert.False(tombstone.Exists);
        Assert.Equal(0L, tombstone.Incarnation);
        Assert.Equal(2, restored.JournalCount);

        // The retry answered from the restored session, not applied again.
        Assert.Equal(answer, CommandAnswer.Decode((await restored.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, retried))).Span));
        Assert.True(restored.TryGetJournal(Key, out journal));
        Assert.Equal(701, journal.Count);

        // And the restored journal keeps growing (its chunks start at the trimmed offset).
        Assert.Equal(CommandStatus.Applied, CommandAnswer.Decode((await restored.ApplyAsync(new Entry(++_index, 1, EntryType.Normal,
            JournalCommand(CommandKind.JournalAppend, ++_requestId, journal.ETag, ["r701"])))).Span).Status);
        Assert.True(restored.TryGetJournal(Key, out journal));
        Assert.Equal(["r700", "r701"], Texts(journal.Range(700, 702)));
    }

    [Fact]
    public async Task RaftSnapshot_RoundTrip_OfJournalWithoutSnapshot_RestoresNoSnapshot()
    {
        var appended = await AppendAsync(expected: 0, ["a", "b"], new Dictionary<string, string> { ["format"] = "json" });
        var replaced = await ApplyAsync(JournalCommand(CommandKind.JournalReplace, ++_requestId, appended.ETag, ["ab"]));
        using var snapshot = new MemoryStream();
        await _machine.WriteSnapshotAsync(snapshot);
        var restored = new GrainStateMachine();
        snapshot.Position = 0;
        await restored.RestoreSnapshotAsync(snapshot);

        Assert.True(restored.TryGetJournal(Key, out var journal));
        Assert.Null(journal.Snapshot);
        Assert.Equal((0L, 1L, 0L), (journal.FirstRetained, journal.Count, journal.SnapshotCount));
        Assert.Equal(["ab"], Texts(journal.Retained));

        // The restored replica still tells the incarnations apart: a snapshot from before the replace is refused.
        Assert.Equal(replaced.ETag, journal.Incarnation);
        var stale = new GrainStateCommand
        {
            Kind = CommandKind.JournalSnapshot, SessionId = _session, RequestId = ++_requestId, LowestUnacknowledged = _requestId, Key = Key,
            ExpectedETag = appended.ETag, AtCount = 1, TrimHistory = true, Data = new byte[] { 1 },
        }.Encode();
        Assert.Equal(
            new CommandAnswer(CommandStatus.IncarnationChanged, replaced.ETag),
            CommandAnswer.Decode((await restored.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, stale))).Span));
        Assert.True(restored.TryGetJournal(Key, out journal));
        Assert.Null(journal.Snapshot);
    }

    // A snapshot written before journals existed (format 1: states and sessions only) still restores.
    [Fact]
    public async Task RaftSnapshot_OfFormat1_RestoresStatesAndNoJournals()
    {
        using var old = new MemoryStream();
        using (var writer = new BinaryWriter(old, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0x4D53524Fu);
            writer.Write(1);
            writer.Write(1);
            writer.Write("counter");
            writer.Write("k1");
            writer.Write("s");
            writer.Write(7L);
            writer.Write(1);
            writer.Write((byte)42);
            writer.Write(1);
            writer.Write(3L); // session id
            writer.Write(7L); // last activity
            writer.Write(2L); // lowest unacknowledged
            writer.Write(1);
            writer.Write(2L);
            writer.Write((byte)CommandStatus.Applied);
            writer.Write(7L);
        }

        await AppendAsync(expected: 0, ["dropped by the restore"]);
        old.Position = 0;
        await _machine.RestoreSnapshotAsync(old);

        Assert.True(_machine.TryGet(new GrainStateKey("counter", "k1", "s"), out var state));
        Assert.Equal(7L, state.ETag);
        Assert.Equal(new byte[] { 42 }, state.Data);
        Assert.Equal(0, _machine.JournalCount);
        Assert.Equal(1, _machine.SessionCount);
    }

    [Fact]
    public void JournalCommands_EncodeInFormat2_DecodeRoundTrips_AndStateCommandsStayInFormat1()
    {
        var append = new GrainStateCommand
        {
            Kind = CommandKind.JournalAppend, SessionId = 5, RequestId = 7, LowestUnacknowledged = 6, Key = new("t", "ключ", "j"), ExpectedETag = 42,
            Records = [new byte[] { 1, 2 }, Array.Empty<byte>(), new byte[] { 3 }],
            Properties = new Dictionary<string, string> { ["format"] = "json", ["é"] = "ü" },
        };
        var bytes = append.Encode();
        var decoded = GrainStateCommand.Decode(bytes);

        Assert.Equal(GrainStateCommand.JournalFormatVersion, bytes[0]);
        Assert.Equal((append.Kind, append.Key, 5L, 7L, 6L, 42L), (decoded.Kind, decoded.Key, decoded.SessionId, decoded.RequestId, decoded.LowestUnacknowledged, decoded.ExpectedETag));
        Assert.Equal([[1, 2], [], [3]], decoded.Records.Select(r => r.ToArray()));
        Assert.Equal(append.Properties, decoded.Properties);

        var snapshot = GrainStateCommand.Decode(new GrainStateCommand
        {
            Kind = CommandKind.JournalSnapshot, SessionId = 1, RequestId = 2, LowestUnacknowledged = 2, Key = Key, ExpectedETag = 17, AtCount = 99, TrimHistory = true, Data = new byte[] { 9, 8 },
        }.Encode());
        Assert.Equal((17L, 99L, true), (snapshot.ExpectedETag, snapshot.AtCount, snapshot.TrimHistory));
        Assert.Equal(new byte[] { 9, 8 }, snapshot.Data.ToArray());

        var write = new GrainStateCommand { Kind = CommandKind.Write, SessionId = 1, RequestId = 1, Key = Key, Data = new byte[] { 1 } }.Encode();
        Assert.Equal(GrainStateCommand.FormatVersion, write[0]);
    }

    [Fact]
    public void JournalCommand_TruncatedOrInFormat1_IsInvalidData()
    {
        var bytes = JournalCommand(CommandKind.JournalAppend, 1, 0, ["abc", "def"]);
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(bytes.AsMemory(0, bytes.Length - 2)));
        var format1 = (byte[])bytes.Clone();
        format1[0] = GrainStateCommand.FormatVersion;
        Assert.Throws<InvalidDataException>(() => GrainStateCommand.Decode(format1));
    }

    // Readers run on other threads while the applier appends, snapshots and trims: every read sees one consistent
    // journal (records [FirstRetained, Count) all present and in order, snapshot within them).
    [Fact]
    public async Task Readers_DuringAppendsAndTrims_AlwaysSeeAConsistentJournal()
    {
        await RegisterAsync();
        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var reads = 0L;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!_machine.TryGetJournal(Key, out var journal))
                {
                    continue;
                }

                Interlocked.Increment(ref reads);
                var records = journal.Retained;
                if (records.Count != journal.Count - journal.FirstRetained)
                {
                    failures.Enqueue($"{records.Count} records for [{journal.FirstRetained}, {journal.Count})");
                }

                for (var i = 0; i < records.Count; i++)
                {
                    var value = BinaryPrimitives.ReadInt64LittleEndian(records[i].Span);
                    if (value != journal.FirstRetained + i)
                    {
                        failures.Enqueue($"record {journal.FirstRetained + i} holds {value}");
                        break;
                    }
                }

                if (journal.Snapshot is { } snapshot && BinaryPrimitives.ReadInt64LittleEndian(snapshot.Span) != journal.SnapshotCount)
                {
                    failures.Enqueue($"snapshot at {journal.SnapshotCount} holds {BinaryPrimitives.ReadInt64LittleEndian(snapshot.Span)}");
                }
            }
        })).ToArray();

        long etag = 0;
        long count = 0;
        for (var batch = 0; batch < 2_000; batch++)
        {
            var records = Enumerable.Range(0, 1 + (batch % 7)).Select(i => (ReadOnlyMemory<byte>)BitConverter.GetBytes(count + i)).ToArray();
            var answer = await ApplyAsync(new GrainStateCommand
            {
                Kind = CommandKind.JournalAppend, SessionId = _session, RequestId = ++_requestId, LowestUnacknowledged = _requestId, Key = Key,
                ExpectedETag = etag, Records = records,
            }.Encode());
            Assert.Equal(CommandStatus.Applied, answer.Status);
            etag = answer.ETag;
            count += records.Length;
            if (batch % 97 == 96)
            {
                // Let the readers in between: wait until they have read again since the last snapshot.
                var seen = Interlocked.Read(ref reads);
                var waited = System.Diagnostics.Stopwatch.StartNew();
                while (Interlocked.Read(ref reads) == seen && waited.Elapsed < TimeSpan.FromSeconds(10))
                {
                    Thread.Yield();
                }

                var at = count - (batch % 5);
                Assert.Equal(CommandStatus.Applied, (await ApplyAsync(new GrainStateCommand
                {
                    Kind = CommandKind.JournalSnapshot, SessionId = _session, RequestId = ++_requestId, LowestUnacknowledged = _requestId, Key = Key,
                    ExpectedETag = Journal().Incarnation, AtCount = at, TrimHistory = batch % 2 == 0, Data = BitConverter.GetBytes(at),
                }.Encode())).Status);
            }
        }

        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(failures);
        Assert.True(Interlocked.Read(ref reads) >= 20, $"The readers read {Interlocked.Read(ref reads)} times.");
        Assert.Equal(count, Journal().Count);
    }

    private StoredJournal Journal()
    {
        Assert.True(_machine.TryGetJournal(Key, out var journal));
        return journal;
    }

    private static string[] Texts(IEnumerable<ReadOnlyMemory<byte>> records) =>
        records.Select(r => System.Text.Encoding.UTF8.GetString(r.Span)).ToArray();

    private async Task RegisterAsync()
    {
        if (_session == 0)
        {
            _session = (await ApplyAsync(GrainStateCommand.RegisterSession())).ETag;
        }
    }

    private async Task<CommandAnswer> AppendAsync(long expected, string[] records, IReadOnlyDictionary<string, string>? properties = null)
    {
        await RegisterAsync();
        return await ApplyAsync(JournalCommand(CommandKind.JournalAppend, ++_requestId, expected, records, properties));
    }

    // Taken from the current incarnation unless told otherwise.
    private async Task<CommandAnswer> SnapshotAsync(long atCount, string view, bool trim, long? incarnation = null)
    {
        await RegisterAsync();
        return await ApplyAsync(new GrainStateCommand
        {
            Kind = CommandKind.JournalSnapshot, SessionId = _session, RequestId = ++_requestId, LowestUnacknowledged = _requestId, Key = Key,
            ExpectedETag = incarnation ?? (_machine.TryGetJournal(Key, out var journal) ? journal.Incarnation : 0), AtCount = atCount, TrimHistory = trim, Data = System.Text.Encoding.UTF8.GetBytes(view),
        }.Encode());
    }

    private byte[] JournalCommand(
        CommandKind kind, long requestId, long expected, string[] records, IReadOnlyDictionary<string, string>? properties = null, GrainStateKey? key = null) =>
        new GrainStateCommand
        {
            Kind = kind, SessionId = _session, RequestId = requestId, LowestUnacknowledged = 1, Key = key ?? Key, ExpectedETag = expected,
            Records = records.Select(r => (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(r)).ToArray(),
            Properties = properties ?? new Dictionary<string, string>(),
        }.Encode();

    private async Task<CommandAnswer> ApplyAsync(byte[] command) =>
        CommandAnswer.Decode((await _machine.ApplyAsync(new Entry(++_index, 1, EntryType.Normal, command))).Span);
}
