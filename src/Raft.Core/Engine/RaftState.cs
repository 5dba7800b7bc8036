using System.Diagnostics;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Tracking;

namespace Raft.Core.Engine;

/// <summary>
/// The Raft protocol for one node (Figure 2 of the paper, with pre-vote and check-quorum from the thesis):
/// roles, terms, timers and the transitions between them. Replication and message handling live in the partials.
/// </summary>
internal sealed partial class RaftState
{
    private readonly RaftOptions _options;
    private readonly Random _random;
    private readonly RaftLog _log;
    private ProgressTracker _tracker;

    // Messages produced since the last Ready: _msgs may leave before persisting, _msgsAfterPersist only after.
    private List<Message> _msgs = [];
    private List<Message> _msgsAfterPersist = [];

    private int _configurationVersion;
    private int _electionElapsed;

    // The term of the newest hard state the host made durable (recovered, or in a Ready it advanced): a follower's
    // heartbeat answers in this term claim nothing that needs a write, so they may leave before its writes (Send).
    private long _durableTerm;

    // Whether late ticks are being taken at once (TickBurst), and whether check-quorum judged within them.
    private BurstState _burst;

    // Within a burst, before its last tick: the heartbeats those ticks make due wait for the last one, which sends one
    // round for all of them (TickBurst).
    private bool _heartbeatsHeld;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    public RaftState(RaftOptions options, InitialState initialState, StableEntryReader? readStable = null)
    {
        _options = options;
        _random = new Random(options.RandomSeed ?? StableHash(options.Id));
        Id = options.Id;
        var snapshot = initialState.Snapshot;
        _log = new RaftLog(
            initialState.Entries,
            initialState.HardState.Commit,
            initialState.Applied,
            snapshot?.Index ?? 0,
            snapshot?.Term ?? 0,
            snapshot?.Configuration ?? new ClusterConfiguration(options.Voters),
            readStable,
            options.RetainedLogEntries);
        _snapshot = snapshot;
        _tracker = NewTracker(null);
        _configurationVersion = _log.ConfigurationVersion;
        Term = initialState.HardState.Term;
        VotedFor = initialState.HardState.VotedFor;
        _leaderContactElapsed = options.ElectionTick;
        if (_log.LastTerm > Term)
        {
            throw new ArgumentException(
                $"The recovered log holds term {_log.LastTerm}, later than the recovered hard state's term {Term}: the hard state store lost writes.",
                nameof(initialState));
        }

        _prevHardState = CurrentHardState;
        _durableTerm = Term;
        BecomeFollower(Term, null);
        _prevSoftState = CurrentSoftState;
    }

    public string Id { get; }

    // Invariant: Term never decreases; VotedFor is the vote cast in Term.
    public long Term { get; private set; }

    public string? VotedFor { get; private set; }

    public StateRole Role { get; private set; }

    public string? LeaderId { get; private set; }

    private bool Promotable => _tracker.IsVoter(Id);

    /// <summary>The last index handed out for persisting (in a ready); a leader may hold newer entries back.</summary>
    internal long HandedOutThrough => _log.UnstableOffset - 1;

    /// <summary>The engine's last index, without building a status.</summary>
    internal long LastIndex => _log.LastIndex;

    /// <summary>The entry at <paramref name="index"/>, for a test host's view of the engine's log.</summary>
    internal Entry EntryAt(long index) => _log.At(index);

    public RaftStatus Status => new(Id, Role, Term, VotedFor, LeaderId, _log.Committed, _log.Applied, _log.LastIndex, _log.StableIndex)
    {
        FirstIndex = _log.FirstIndex,
        Configuration = _log.Configuration,
        LeadTransferee = _leadTransferee,
    };

    // Late ticks taken at once (RawNode.Tick(int)); see there for the one check-quorum judgment per burst.
    public void TickBurst(int count)
    {
        _burst = BurstState.Open;
        try
        {
            _heartbeatsHeld = true;
            for (var i = 1; i < count && Role == StateRole.Leader; i++)
            {
                Tick();
            }

            _heartbeatsHeld = false;
            Tick();
            if (_burst == BurstState.Judged && Role == StateRole.Leader)
            {
                // The answers that arrived after the judged window's end, while the ticks were late, were spent on
                // that judgment: the next window starts when the burst ends, not part-way through it. Counted from the
                // judgment, it could end a tick or two after the burst, before any answer to the burst's heartbeat
                // round could arrive (simulator seed 594427: a leader whose own append took 1.2 election timeouts
                // stepped down 7 ms after it, though a quorum had answered 30 ms before).
                _electionElapsed = 0;
            }
        }
        finally
        {
            _burst = BurstState.None;
            _heartbeatsHeld = false;
        }
    }

    public void Tick()
    {
        if (_ticksSinceStart < _options.ElectionTick)
        {
            _ticksSinceStart++;
        }

        if (_leaderContactElapsed < _options.ElectionTick)
        {
            _leaderContactElapsed++;
        }

        if (Role == StateRole.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }

        AfterInput();
    }

    /// <summary>Leaders: a heartbeat round now, outside the timer (RawNode.Heartbeat); the timer starts over from it.</summary>
    public void Heartbeat()
    {
        if (Role != StateRole.Leader)
        {
            return;
        }

        _heartbeatElapsed = 0;
        BroadcastHeartbeat();
    }

    /// <summary>Followers and candidates: campaign when no leader was heard from for a randomized election timeout (§5.2).</summary>
    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            Campaign();
        }
    }

    /// <summary>Leaders: heartbeat, and step down when a majority went quiet for an election timeout (check-quorum).</summary>
    private void TickHeartbeat()
    {
        _ticks++;
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_leadTransferee is not null && ++_transferElapsed >= _options.ElectionTick)
        {
            // Thesis §3.10: a transfer that has not completed within an election timeout is abandoned and the
            // leader takes proposals again.
            _leadTransferee = null;
        }

        if (_electionElapsed >= _options.ElectionTick)
        {
            _electionElapsed = 0;
            if (_options.CheckQuorum && _burst != BurstState.Judged)
            {
                _burst = _burst == BurstState.Open ? BurstState.Judged : BurstState.None;
                var active = _tracker.QuorumActive(Id);
                foreach (var id in _tracker.Members)
                {
                    _tracker[id].RecentActive = id == Id;
                }

                if (!active)
                {
                    BecomeFollower(Term, null);
                    return;
                }
            }
        }

        if (_heartbeatElapsed >= _options.HeartbeatTick && !_heartbeatsHeld)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }
    }

    /// <summary>Starts an election: a pre-vote round first when enabled (thesis §9.6), else a real one.</summary>
    public void Campaign()
    {
        if (Role == StateRole.Leader || !Promotable)
        {
            return;
        }

        if (_pendingSnapshotInstall is not null)
        {
            // The snapshot this node just accepted is not installed yet; its log cannot speak for it.
            return;
        }

        if (_options.PreVote)
        {
            BecomePreCandidate();
            RequestVotes(MessageType.PreVote, Term + 1);
        }
        else
        {
            BecomeCandidate();
            RequestVotes(MessageType.Vote, Term);
        }
    }

    private void RequestVotes(MessageType type, long term, bool transfer = false)
    {
        // Our own vote: for a real election it is in the hard state, persisted before the requests leave.
        if (Poll(Id, type == MessageType.PreVote ? MessageType.PreVoteResponse : MessageType.VoteResponse, granted: true) == Quorum.VoteResult.Won)
        {
            // A single-voter cluster wins at once.
            if (type == MessageType.PreVote)
            {
                BecomeCandidate();
                RequestVotes(MessageType.Vote, Term);
            }
            else
            {
                BecomeLeader();
            }

            return;
        }

        foreach (var voter in _tracker.Voters.Voters)
        {
            if (voter == Id)
            {
                continue;
            }

            Send(new Message
            {
                Type = type,
                From = Id,
                To = voter,
                Term = term,
                Index = _log.LastIndex,
                LogTerm = _log.LastTerm,
                Context = transfer ? TransferContext : ReadOnlyMemory<byte>.Empty,
            });
        }
    }

    private Quorum.VoteResult Poll(string from, MessageType type, bool granted)
    {
        _ = type;
        return _tracker.RecordVote(from, granted);
    }

    private void BecomeFollower(long term, string? leaderId)
    {
        Reset(term);
        Role = StateRole.Follower;
        LeaderId = leaderId;
    }

    // A newer term from a vote request: a follower or candidate keeps counting toward its own election timeout (as
    // LogCabin's stepDown does); a leader starts one, as it has none running.
    private void BecomeFollowerKeepingElectionTimer(long term)
    {
        var wasLeader = Role == StateRole.Leader;
        var elapsed = _electionElapsed;
        var timeout = _randomizedElectionTimeout;
        BecomeFollower(term, null);
        if (!wasLeader)
        {
            _electionElapsed = elapsed;
            _randomizedElectionTimeout = timeout;
        }
    }

    private void BecomePreCandidate()
    {
        Debug.Assert(Role != StateRole.Leader, "a leader never pre-campaigns");

        // Pre-vote changes neither term nor vote: a node that cannot win disturbs nobody (thesis §9.6).
        _tracker.ResetVotes();
        Role = StateRole.PreCandidate;
        LeaderId = null;
        _electionElapsed = 0;
        ResetRandomizedElectionTimeout();
    }

    private void BecomeCandidate()
    {
        Debug.Assert(Role != StateRole.Leader, "a leader never campaigns");
        Reset(Term + 1);
        VotedFor = Id;
        Role = StateRole.Candidate;
    }

    private void BecomeLeader()
    {
        Debug.Assert(Role == StateRole.Candidate, "only a candidate becomes leader");
        Reset(Term);
        Role = StateRole.Leader;
        LeaderId = Id;
        _membersThisTerm.Clear();
        NoteMembersThisTerm(_log.Configuration);
        var self = _tracker.Get(Id);
        if (self is not null)
        {
            self.RecentActive = true;

            // A leader counts only what its own store made durable (thesis §10.2.1).
            self.MaybeUpdate(_log.StableIndex);
            self.BecomeReplicate();
        }

        // §5.4.2 / §8: an entry of the leader's own term lets it commit everything before it, and learn the
        // commit index, without waiting for a client.
        _log.Append(new Entry(_log.LastIndex + 1, Term, EntryType.NoOp, ReadOnlyMemory<byte>.Empty));
        _uncommittedSize = 0;
        _pendingBroadcast = true;
    }

    /// <summary>Rebuilds the progress tracker when the configuration in the log changed (appended, truncated, restored).</summary>
    private void SyncConfiguration()
    {
        if (_log.ConfigurationVersion == _configurationVersion)
        {
            return;
        }

        _configurationVersion = _log.ConfigurationVersion;
        _tracker = NewTracker(_tracker);
        if (Role == StateRole.Leader)
        {
            // New members need the log; a different majority may already hold more.
            _pendingBroadcast = true;
            if (MaybeCommit())
            {
                _pendingCommitBroadcast = true;
            }

            if (_leadTransferee is not null && !_tracker.IsVoter(_leadTransferee))
            {
                _leadTransferee = null;
            }
        }
    }

    private void Reset(long term)
    {
        if (Term != term)
        {
            Term = term;
            VotedFor = null;
        }

        LeaderId = null;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        ResetRandomizedElectionTimeout();
        _tracker.ResetVotes();
        _pendingBroadcast = false;
        _pendingCommitBroadcast = false;
        _leadTransferee = null;
        ResetReads();
        foreach (var id in _tracker.Members)
        {
            var progress = _tracker[id];
            progress.Reset(0, _log.LastIndex + 1);
        }
    }

    private void ResetRandomizedElectionTimeout() =>
        _randomizedElectionTimeout = _options.ElectionTick + _random.Next(_options.ElectionTick);

    private ProgressTracker NewTracker(ProgressTracker? previous)
    {
        var configuration = _log.Configuration;
        return new ProgressTracker(
            configuration.Voters,
            configuration.Learners,
            _options.MaxInflightMessages,
            _options.MaxInflightBytes,
            previous,
            _log.LastIndex + 1);
    }

    private void Send(Message message)
    {
        // Only a leader's own appends of its current term may leave before this node's writes are durable, and a
        // follower's answer to a heartbeat once its term is durable (it claims nothing else, see WhilePersisting).
        if ((Role == StateRole.Leader && message.Term == Term && message.Type is MessageType.AppendEntries or MessageType.Heartbeat or MessageType.TimeoutNow or MessageType.InstallSnapshot)
            || (Role == StateRole.Follower && message.Type == MessageType.HeartbeatResponse && message.Term == _durableTerm))
        {
            _msgs.Add(message);
        }
        else
        {
            _msgsAfterPersist.Add(message);
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units: string.GetHashCode is randomized per process.</summary>
    private static int StableHash(string s)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in s)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }

    private enum BurstState
    {
        None,
        Open,
        Judged,
    }
}
