namespace Raft.Core.Quorum;

/// <summary>A set of voters whose decisions need a strict majority.</summary>
internal sealed class MajorityConfig
{
    private readonly string[] _voters;

    public MajorityConfig(IEnumerable<string> voters)
    {
        // Sorted so that every iteration over voters is in the same order on every run (determinism).
        _voters = voters.Distinct(StringComparer.Ordinal).OrderBy(v => v, StringComparer.Ordinal).ToArray();
    }

    public string[] Voters => _voters;

    public int Count => _voters.Length;

    /// <summary>Votes needed to decide.</summary>
    public int Majority => _voters.Length / 2 + 1;

    public bool Contains(string id) => Array.IndexOf(_voters, id) >= 0;

    /// <summary>
    /// The largest index that a majority of voters have: the Majority-th largest match index.
    /// An empty configuration commits nothing.
    /// </summary>
    public long CommittedIndex(Func<string, long> matchOf)
    {
        if (_voters.Length == 0)
        {
            return 0;
        }

        Span<long> matches = _voters.Length <= 16 ? stackalloc long[_voters.Length] : new long[_voters.Length];
        for (var i = 0; i < _voters.Length; i++)
        {
            matches[i] = matchOf(_voters[i]);
        }

        matches.Sort();
        // Ascending order: the element at Count - Majority is held by at least Majority voters.
        return matches[_voters.Length - Majority];
    }

    /// <summary>Tallies votes; a voter missing from <paramref name="votes"/> has not answered.</summary>
    public VoteResult Tally(IReadOnlyDictionary<string, bool> votes)
    {
        int granted = 0, rejected = 0;
        foreach (var voter in _voters)
        {
            if (votes.TryGetValue(voter, out var vote))
            {
                if (vote)
                {
                    granted++;
                }
                else
                {
                    rejected++;
                }
            }
        }

        if (granted >= Majority)
        {
            return VoteResult.Won;
        }

        return _voters.Length - rejected < Majority ? VoteResult.Lost : VoteResult.Pending;
    }

    public override string ToString() => "(" + string.Join(" ", _voters) + ")";
}
