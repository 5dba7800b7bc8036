using System.Collections.Concurrent;
using System.Text;

namespace Orleans.Raft.StateMachine;

// Snapshots (§7): the states and the sessions, so a restored replica deduplicates retries exactly as the others do.
public sealed partial class GrainStateMachine
{
    private const uint SnapshotMagic = 0x4D53524F; // "ORSM"
    private const int SnapshotVersion = 1;

    /// <inheritdoc />
    public ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        writer.Write(SnapshotMagic);
        writer.Write(SnapshotVersion);
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
            writer.Write(session.Answers.Count);
            foreach (var (requestId, answer) in session.Answers)
            {
                writer.Write(requestId);
                writer.Write((byte)answer.Status);
                writer.Write(answer.ETag);
            }
        }

        writer.Flush();
        return ValueTask.CompletedTask;
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
            if (version != SnapshotVersion)
            {
                throw new InvalidDataException($"The grain-state snapshot has format version {version}; this build reads version {SnapshotVersion}.");
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
                    session.Answers[requestId] = new CommandAnswer(status, reader.ReadInt64());
                }

                sessions[session.Id] = session;
            }

            _sessions = sessions;
            _states = states;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The grain-state snapshot is truncated.", ex);
        }

        return ValueTask.CompletedTask;
    }
}
