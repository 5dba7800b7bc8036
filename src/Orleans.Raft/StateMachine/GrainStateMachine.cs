using System.Collections.Concurrent;
using Raft.Core.Messages;
using Raft.Core.StateMachine;

namespace Orleans.Raft.StateMachine;

/// <summary>
/// The replicated state machine behind the Raft grain storage: a map from (grain type, grain key, state name) to
/// (ETag, serialized state), a second map of the same keys to journals (append-only record logs, see
/// GrainStateMachine.Journals.cs), both changed only by committed commands, plus the client sessions that make
/// retried writes apply at most once (thesis §6.3) and the members' addresses (GrainStateMachine.Members.cs).
/// </summary>
/// <remarks>
/// <para>
/// Determinism: every decision depends only on the commands and their log indexes, so every replica holds the same
/// states with the same ETags. The ETag of a state is the log index of the entry that last wrote or cleared it.
/// </para>
/// <para>
/// Concurrency: <see cref="ApplyAsync"/>, <see cref="WriteSnapshotAsync"/> and <see cref="RestoreSnapshotAsync"/> come
/// from the node's applier, one at a time; <see cref="TryGet"/> may run on any thread at the same time (a restore swaps
/// the whole map at once, so a reader sees the old or the new state, never a mix).
/// </para>
/// </remarks>
public sealed partial class GrainStateMachine : IStateMachine
{
    /// <summary>
    /// Most client sessions kept; registering one more evicts the one idle longest (by log index). Part of the
    /// replicated logic, so it is a constant, never a per-node setting.
    /// </summary>
    public const int MaxSessions = 4096;

    // Replaced as a whole by a restore; read without a lock by TryGet.
    private volatile ConcurrentDictionary<GrainStateKey, StoredGrainState> _states = new();

    // Applier only.
    private Dictionary<long, ClientSessionState> _sessions = [];

    // Applier only: the grain types and state names of applied commands.
    private readonly Utf8NameCache _names = new();

    /// <summary>How many grain states (tombstones included) the store holds.</summary>
    public int Count => _states.Count;

    /// <summary>How many client sessions the store keeps.</summary>
    public int SessionCount => Volatile.Read(ref _sessions).Count;

    /// <summary>Looks up a state as of the last applied entry.</summary>
    /// <param name="key">The state's key.</param>
    /// <param name="state">The stored state (a tombstone when it was cleared), or null when none is stored.</param>
    /// <returns>True when a state or a tombstone is stored.</returns>
    public bool TryGet(GrainStateKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredGrainState? state) =>
        _states.TryGetValue(key, out state);

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Data.IsEmpty)
        {
            return new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty);
        }

        // A journal command's records and snapshot are kept as slices of the command: copy the entry's bytes once,
        // since the log may reuse its buffer.
        var data = entry.Data.Length >= 2 && GrainStateCommand.IsJournal((CommandKind)entry.Data.Span[1]) ? (ReadOnlyMemory<byte>)entry.Data.ToArray() : entry.Data;
        var command = GrainStateCommand.Decode(data, _names);
        var answer = command.Kind switch
        {
            CommandKind.RegisterSession => RegisterSession(entry.Index),
            CommandKind.SetMemberAddress => SetMemberAddress(command, entry.Index),
            _ => ApplyInSession(command, entry.Index),
        };
        return new ValueTask<ReadOnlyMemory<byte>>(answer.Encode());
    }

    private CommandAnswer RegisterSession(long index)
    {
        if (_sessions.Count >= MaxSessions)
        {
            // Evict the session idle longest; ties cannot happen (each index belongs to one command).
            var idlest = _sessions.Values.MinBy(s => s.LastActivity)!;
            _sessions.Remove(idlest.Id);
        }

        _sessions[index] = new ClientSessionState(index, index);
        return new CommandAnswer(CommandStatus.Applied, index);
    }

    private CommandAnswer ApplyInSession(GrainStateCommand command, long index)
    {
        if (!_sessions.TryGetValue(command.SessionId, out var session))
        {
            return new CommandAnswer(CommandStatus.SessionUnknown, 0);
        }

        session.LastActivity = index;
        session.Acknowledge(command.LowestUnacknowledged);
        if (command.RequestId < session.LowestUnacknowledged)
        {
            return new CommandAnswer(CommandStatus.StaleRequest, 0);
        }

        if (session.TryGetAnswer(command.RequestId, out var cached))
        {
            return cached;
        }

        var answer = command.Kind switch
        {
            CommandKind.Write => Write(command, index),
            CommandKind.Clear => Clear(command, index),
            _ => ApplyJournal(command, index),
        };
        session.AddAnswer(command.RequestId, answer);
        return answer;
    }

    private CommandAnswer Write(GrainStateCommand command, long index)
    {
        var stored = _states.TryGetValue(command.Key, out var current) ? current.ETag : 0;
        if (stored != command.ExpectedETag)
        {
            return new CommandAnswer(CommandStatus.ETagMismatch, stored);
        }

        _states[command.Key] = new StoredGrainState(index, command.Data.ToArray());
        return new CommandAnswer(CommandStatus.Applied, index);
    }

    private CommandAnswer Clear(GrainStateCommand command, long index)
    {
        if (!_states.TryGetValue(command.Key, out var current))
        {
            // Nothing stored: a clear of nothing changes nothing (as AdoNet returns early), but a stale ETag still fails.
            return command.ExpectedETag == 0
                ? new CommandAnswer(CommandStatus.Applied, 0)
                : new CommandAnswer(CommandStatus.ETagMismatch, 0);
        }

        if (current.ETag != command.ExpectedETag)
        {
            return new CommandAnswer(CommandStatus.ETagMismatch, current.ETag);
        }

        if (command.DeleteOnClear)
        {
            _states.TryRemove(command.Key, out _);
            return new CommandAnswer(CommandStatus.Applied, 0);
        }

        // AdoNet's convention: the ETag advances and the record no longer exists, so an older ETag cannot write.
        _states[command.Key] = new StoredGrainState(index, null);
        return new CommandAnswer(CommandStatus.Applied, index);
    }
}
