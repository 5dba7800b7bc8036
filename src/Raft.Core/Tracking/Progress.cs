using System.Diagnostics;

namespace Raft.Core.Tracking;

/// <summary>A leader's view of one follower's log (etcd's Progress).</summary>
internal sealed class Progress
{
    public Progress(long next, int maxInflight, long maxInflightBytes, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflight, maxInflightBytes);
        IsLearner = isLearner;
    }

    // Invariant: Match < Next.
    /// <summary>The highest index known to be replicated (durably) on the follower.</summary>
    public long Match { get; private set; }

    /// <summary>The next index to send.</summary>
    public long Next { get; private set; }

    public ProgressState State { get; private set; } = ProgressState.Probe;

    /// <summary>In probe state: an append was sent and no answer or heartbeat response came back yet.</summary>
    public bool ProbeSent { get; set; }

    /// <summary>Heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    public bool IsLearner { get; set; }

    /// <summary>In snapshot state: the index of the snapshot being sent.</summary>
    public long PendingSnapshot { get; private set; }

    /// <summary>The latest heartbeat round this follower answered (read-index confirmation and leases).</summary>
    public long AckedRound { get; set; }

    public Inflights Inflights { get; }

    /// <summary>The commit index carried by the last AppendEntries sent to this follower.</summary>
    public long CommitSent { get; set; }

    /// <summary>True when nothing more should be sent until the follower answers.</summary>
    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    /// <summary>Resets to probe from <paramref name="match"/>; used when a node becomes leader.</summary>
    public void Reset(long match, long next)
    {
        Match = match;
        Next = next;
        ResetState(ProgressState.Probe);
        RecentActive = false;
        AckedRound = 0;
    }

    public void BecomeProbe()
    {
        ResetState(ProgressState.Probe);
        Next = Match + 1;
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    /// <summary>The follower's next entry was compacted away: send it the snapshot at <paramref name="snapshotIndex"/>.</summary>
    public void BecomeSnapshot(long snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>The snapshot transfer ended; wait for the follower's answer (or a heartbeat) before sending more.</summary>
    public void OnSnapshotSent(bool success)
    {
        var pending = PendingSnapshot;
        ResetState(ProgressState.Probe);
        Next = success ? Math.Max(Match + 1, pending + 1) : Match + 1;
        ProbeSent = true;
    }

    /// <summary>Records an acknowledgement up to <paramref name="index"/>; returns true when Match moved.</summary>
    public bool MaybeUpdate(long index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, index + 1);
        Debug.Assert(Match < Next, "Match < Next");
        return updated;
    }

    /// <summary>Records that entries up to <paramref name="lastIndex"/> were sent in one append of <paramref name="bytes"/>.</summary>
    public void OnEntriesSent(int count, long lastIndex, long bytes)
    {
        switch (State)
        {
            case ProgressState.Replicate:
                if (count > 0)
                {
                    Next = lastIndex + 1;
                    Inflights.Add(lastIndex, bytes);
                }

                break;
            case ProgressState.Probe:
                // One probe at a time: wait for its answer (or a heartbeat response) before the next.
                ProbeSent = true;
                break;
        }
    }

    /// <summary>
    /// Handles a rejected append of <paramref name="rejected"/> (its prevLogIndex); <paramref name="matchHint"/> is
    /// where the follower's log may match. Returns false when the rejection is stale.
    /// </summary>
    public bool MaybeDecreaseTo(long rejected, long matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            // An append at or below Match was already acknowledged: this rejection is old news.
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        // In probe state only the last probe's answer counts.
        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    private void ResetState(ProgressState state)
    {
        ProbeSent = false;
        PendingSnapshot = 0;
        CommitSent = 0;
        State = state;
        Inflights.Reset();
    }

    public override string ToString() =>
        $"{State} match={Match} next={Next}{(IsLearner ? " learner" : "")}{(ProbeSent ? " paused" : "")} inflight={Inflights.Count}";
}
