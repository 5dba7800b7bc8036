using System.Collections.Concurrent;
using System.Text;

namespace Orleans.Raft.StateMachine;

// Snapshots (§7): the states, the sessions (so a restored replica deduplicates retries exactly as the others do),
// from format 2 on the journals, in format 3 the members' addresses. Formats 1 (no journals) and 2 are still read: a
// node may restore a snapshot taken before. Format 3 is written only when there are addresses, so a group that never
// set one keeps snapshots the previous release reads. (Format 2 gained the journals' incarnation before it was
// released; no snapshot without it was ever shipped.)
public sealed partial class GrainStateMachine
{
    private const uint SnapshotMagic = 0x4D53524F; // "ORSM"
    private const int SnapshotVersionWithAddresses = 3;
    private const int SnapshotVersion = 2;
    private const int SnapshotVersionWithoutJournals = 1;

    /// <inheritdoc />
    public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        var addresses = _memberAddresses;
        writer.Write(SnapshotMagic);
        writer.Write(addresses.IsEmpty ? SnapshotVersion : SnapshotVersionWithAddresses);
        var states = _states;
        writer.Write(states.Count);
        foreach (var (key, state) in states)
        {
            cancellationToken.ThrowIfCancellationRequested();
            writer.Write(key.GrainType);
            writer.Write(key.GrainKey);
            writer.Write(key.StateName);
            writer.Write(state.ETag);
            writer.Write(state.Data?.Length ?? -1);
            if (state.Data is { } data)
            {
                writer.Write(data);
            }
        }

        writer.Write(_sessions.Count);
        foreach (var session in _sessions.Values)
        {
            writer.Write(session.Id);
            writer.Write(session.LastActivity);
            writer.Write(session.LowestUnacknowledged);
            writer.Write(session.AnswerCount);
            foreach (var (requestId, answer) in session.AnswersInOrder())
            {
                writer.Write(requestId);
                writer.Write((byte)answer.Status);
                writer.Write(answer.ETag);
            }
        }

        WriteJournals(writer, cancellationToken);
        if (!addresses.IsEmpty)
        {
            WriteMemberAddresses(writer, addresses);
        }

        writer.Flush();
        return ValueTask.CompletedTask;
    }

    // Each journal: key, ETag, incarnation, exists, count, first retained, properties, snapshot (count, length or -1, bytes), then
    // the retained records (each a length and bytes).
    private void WriteJournals(BinaryWriter writer, CancellationToken cancellationToken)
    {
        var journals = _journals;
        writer.Write(journals.Count);
        foreach (var (key, journal) in journals)
        {
            cancellationToken.ThrowIfCancellationRequested();
            writer.Write(key.GrainType);
            writer.Write(key.GrainKey);
            writer.Write(key.StateName);
            writer.Write(journal.ETag);
            writer.Write(journal.Incarnation);
            writer.Write(journal.Exists);
            writer.Write(journal.Count);
            writer.Write(journal.FirstRetained);
            writer.Write(journal.Properties.Count);
            foreach (var (name, value) in journal.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.Write(name);
                writer.Write(value);
            }

            writer.Write(journal.SnapshotCount);
            writer.Write(journal.Snapshot?.Length ?? -1);
            if (journal.Snapshot is { } snapshot)
            {
                writer.Write(snapshot.Span);
            }

            foreach (var record in journal.Retained)
            {
                writer.Write(record.Length);
                writer.Write(record.Span);
            }
        }
    }

    private static ConcurrentDictionary<GrainStateKey, StoredJournal> ReadJournals(BinaryReader reader, CancellationToken cancellationToken)
    {
        var journals = new ConcurrentDictionary<GrainStateKey, StoredJournal>();
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = new GrainStateKey(reader.ReadString(), reader.ReadString(), reader.ReadString());
            var etag = reader.ReadInt64();
            var incarnation = reader.ReadInt64();
            var exists = reader.ReadBoolean();
            if (exists ? incarnation < 1 || incarnation > etag : incarnation != 0)
            {
                throw new InvalidDataException($"Journal {key} in the snapshot has incarnation {incarnation} with ETag {etag} ({(exists ? "live" : "a tombstone")}).");
            }

            var recordCount = reader.ReadInt64();
            var firstRetained = reader.ReadInt64();
            if (firstRetained < 0 || firstRetained > recordCount)
            {
                throw new InvalidDataException($"Journal {key} in the snapshot retains records from {firstRetained} of {recordCount}.");
            }

            var propertyCount = reader.ReadInt32();
            var properties = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var j = 0; j < propertyCount; j++)
            {
                var name = reader.ReadString();
                properties[name] = reader.ReadString();
            }

            var snapshotCount = reader.ReadInt64();
            var snapshotLength = reader.ReadInt32();
            // Not a conditional expression: null converts to ReadOnlyMemory<byte> (an empty one) through byte[].
            ReadOnlyMemory<byte>? snapshot = null;
            if (snapshotLength >= 0)
            {
                snapshot = ReadExactly(reader, snapshotLength);
            }

            if (snapshot is not null && (snapshotCount < firstRetained || snapshotCount > recordCount))
            {
                throw new InvalidDataException($"Journal {key} in the snapshot has a snapshot at {snapshotCount}, outside its records [{firstRetained}, {recordCount}].");
            }

            if (recordCount - firstRetained > int.MaxValue)
            {
                throw new InvalidDataException($"Journal {key} in the snapshot claims {recordCount - firstRetained} retained records.");
            }

            var records = new ReadOnlyMemory<byte>[recordCount - firstRetained];
            for (var j = 0; j < records.Length; j++)
            {
                records[j] = ReadExactly(reader, reader.ReadInt32());
            }

            var chunks = JournalRecordChunks.Empty.TrimBelow(firstRetained).Append(firstRetained, records);
            journals[key] = new StoredJournal(etag, incarnation, exists, recordCount, firstRetained, chunks, snapshot, snapshotCount, properties);
        }

        return journals;
    }

    private static byte[] ReadExactly(BinaryReader reader, int length)
    {
        if (length < 0)
        {
            throw new InvalidDataException($"A journal in the snapshot claims a record of {length} bytes.");
        }

        var bytes = reader.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    /// <inheritdoc />
    public ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            using var reader = new BinaryReader(source, Encoding.UTF8, leaveOpen: true);
            if (reader.ReadUInt32() != SnapshotMagic)
            {
                throw new InvalidDataException("The snapshot is not one of the Orleans.Raft grain-state store.");
            }

            var version = reader.ReadInt32();
            if (version is not (SnapshotVersionWithAddresses or SnapshotVersion or SnapshotVersionWithoutJournals))
            {
                throw new InvalidDataException(
                    $"The grain-state snapshot has format version {version}; this build reads versions {SnapshotVersionWithoutJournals} to {SnapshotVersionWithAddresses}.");
            }

            var states = new ConcurrentDictionary<GrainStateKey, StoredGrainState>();
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var key = new GrainStateKey(reader.ReadString(), reader.ReadString(), reader.ReadString());
                var etag = reader.ReadInt64();
                var length = reader.ReadInt32();
                var data = length < 0 ? null : reader.ReadBytes(length);
                if (data is not null && data.Length != length)
                {
                    throw new EndOfStreamException();
                }

                states[key] = new StoredGrainState(etag, data);
            }

            var sessions = new Dictionary<long, ClientSessionState>();
            var sessionCount = reader.ReadInt32();
            for (var i = 0; i < sessionCount; i++)
            {
                var session = new ClientSessionState(reader.ReadInt64(), reader.ReadInt64());
                session.Restore(reader.ReadInt64());
                var answers = reader.ReadInt32();
                for (var j = 0; j < answers; j++)
                {
                    var requestId = reader.ReadInt64();
                    var status = (CommandStatus)reader.ReadByte();
                    session.AddAnswer(requestId, new CommandAnswer(status, reader.ReadInt64()));
                }

                sessions[session.Id] = session;
            }

            var journals = version >= SnapshotVersion ? ReadJournals(reader, cancellationToken) : new();
            var addresses = version >= SnapshotVersionWithAddresses ? ReadMemberAddresses(reader) : _memberAddresses.Clear();
            _sessions = sessions;
            _states = states;
            _journals = journals;
            RestoreMemberAddresses(addresses);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The grain-state snapshot is truncated.", ex);
        }

        return ValueTask.CompletedTask;
    }
}
