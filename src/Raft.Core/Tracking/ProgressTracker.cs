using Raft.Core.Quorum;

namespace Raft.Core.Tracking;

/// <summary>The configuration in force, the leader's progress for each member and the votes of an election.</summary>
internal sealed class ProgressTracker
{
    private readonly Dictionary<string, bool> _votes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Progress> _progress = new(StringComparer.Ordinal);
    private readonly int _maxInflight;
    private readonly long _maxInflightBytes;
    private string[] _members = [];

    /// <param name="voters">The voting members.</param>
    /// <param name="learners">The learners.</param>
    /// <param name="maxInflight">Pipelining window in messages.</param>
    /// <param name="maxInflightBytes">Pipelining window in bytes.</param>
    /// <param name="previous">The tracker of the previous configuration: members present in both keep their progress.</param>
    /// <param name="nextIndex">The next index for members new to this configuration.</param>
    public ProgressTracker(IEnumerable<string> voters, IEnumerable<string> learners, int maxInflight, long maxInflightBytes, ProgressTracker? previous = null, long nextIndex = 1)
    {
        _maxInflight = maxInflight;
        _maxInflightBytes = maxInflightBytes;
        Voters = new MajorityConfig(voters);
        Learners = learners.Where(l => !Voters.Contains(l)).Distinct(StringComparer.Ordinal).OrderBy(l => l, StringComparer.Ordinal).ToArray();
        _members = Voters.Voters.Concat(Learners).OrderBy(m => m, StringComparer.Ordinal).ToArray();
        foreach (var id in _members)
        {
            var isLearner = Array.IndexOf(Learners, id) >= 0;
            if (previous?.Get(id) is { } kept)
            {
                kept.IsLearner = isLearner;
                _progress[id] = kept;
            }
            else
            {
                // A member new to the configuration gets one check-quorum window of grace before it counts as silent.
                _progress[id] = new Progress(nextIndex, _maxInflight, _maxInflightBytes, isLearner) { RecentActive = true };
            }
        }

        if (previous is not null)
        {
            foreach (var vote in previous._votes)
            {
                _votes[vote.Key] = vote.Value;
            }
        }
    }

    public MajorityConfig Voters { get; }

    public string[] Learners { get; }

    /// <summary>Every member, voters and learners, in ordinal order (an array: iterating it allocates nothing).</summary>
    public string[] Members => _members;

    public IReadOnlyDictionary<string, bool> Votes => _votes;

    public bool IsVoter(string id) => Voters.Contains(id);

    public Progress? Get(string id) => _progress.GetValueOrDefault(id);

    public Progress this[string id] => _progress[id];

    public long CommittedIndex()
    {
        // Hot path (every acknowledgement): no closure, no heap for ordinary cluster sizes.
        var voters = Voters.Voters;
        if (voters.Length == 0)
        {
            return 0;
        }

        Span<long> matches = voters.Length <= 16 ? stackalloc long[voters.Length] : new long[voters.Length];
        for (var i = 0; i < voters.Length; i++)
        {
            matches[i] = _progress[voters[i]].Match;
        }

        matches.Sort();
        return matches[voters.Length - Voters.Majority];
    }

    /// <summary>The latest heartbeat round a majority of voters answered; <paramref name="self"/> answers every round it sent.</summary>
    public long ConfirmedRound(string self, long currentRound) =>
        Voters.CommittedIndex(id => id == self ? currentRound : _progress[id].AckedRound);

    /// <summary>Whether a majority of voters were recently heard from (the leader counts itself active).</summary>
    public bool QuorumActive(string self)
    {
        var active = 0;
        foreach (var voter in Voters.Voters)
        {
            if (voter == self || _progress[voter].RecentActive)
            {
                active++;
            }
        }

        return active >= Voters.Majority;
    }

    public void ResetVotes() => _votes.Clear();

    /// <summary>Records a vote (the first one from each voter counts) and returns the tally.</summary>
    public VoteResult RecordVote(string id, bool granted)
    {
        _votes.TryAdd(id, granted);
        return Voters.Tally(_votes);
    }
}
