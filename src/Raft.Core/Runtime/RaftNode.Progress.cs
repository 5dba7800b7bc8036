using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// A leader's view of its followers, taken from their answers as the loop hands them to the engine: how far each log
// matches (for promoting a caught-up learner) and when each last answered (for picking a transfer target).
public sealed partial class RaftNode
{
    // Null unless this node leads. Replaced (never mutated) when a new follower appears or the term changes, so other
    // threads can read it without a lock; the trackers' fields are written by the loop with Volatile.
    private volatile FollowerBook? _followers;

    /// <summary>
    /// How far each member's log matches this leader's, as the leader last heard; null when this node is not the leader.
    /// Use it to decide when a learner has caught up before promoting it.
    /// </summary>
    /// <returns>The leader's replication state as of the <see cref="Status"/> the consensus loop last published (its
    /// term, last and commit index, configuration), or null.</returns>
    /// <remarks>
    /// The match index of a member is the highest index it acknowledged as durably matching this leader's log in the
    /// current term: it only grows, and lags the truth by at most one round trip.
    /// </remarks>
    public ReplicationStatus? GetReplicationStatus()
    {
        var status = _status;
        var book = _followers;
        if (status.Role != StateRole.Leader || book is null || book.Term != status.Term || status.Configuration is not { } configuration)
        {
            return null;
        }

        var now = _timeProvider.GetTimestamp();
        var followers = new List<FollowerReplication>();
        foreach (var id in configuration.Voters.Concat(configuration.Learners).Order(StringComparer.Ordinal))
        {
            if (id == Id)
            {
                continue;
            }

            var isLearner = !configuration.IsVoter(id);
            followers.Add(book.Trackers.TryGetValue(id, out var tracker) && Volatile.Read(ref tracker.LastContact) is var contact && contact != 0
                ? new FollowerReplication(id, isLearner, Volatile.Read(ref tracker.Match), _timeProvider.GetElapsedTime(contact, now))
                : new FollowerReplication(id, isLearner, 0, null));
        }

        return new ReplicationStatus(status.Term, status.LastIndex, status.CommitIndex, followers);
    }

    // Loop only: a follower's answer to this leader (AppendEntriesResponse or HeartbeatResponse).
    private void ObserveFollower(Message message)
    {
        var book = _followers;
        if (book is null || message.Term != book.Term)
        {
            return;
        }

        if (!book.Trackers.TryGetValue(message.From, out var tracker))
        {
            tracker = new FollowerTracker();
            _followers = new FollowerBook(book.Term, new Dictionary<string, FollowerTracker>(book.Trackers, StringComparer.Ordinal) { [message.From] = tracker });
        }

        // A successful append answer's index is the follower's match, exactly as the engine's progress counts it.
        if (message.Type == MessageType.AppendEntriesResponse && !message.Reject && message.Index > tracker.Match)
        {
            Volatile.Write(ref tracker.Match, message.Index);
        }

        Volatile.Write(ref tracker.LastContact, _timeProvider.GetTimestamp());
    }

    // Loop only: the transport could not deliver to `nodeId`; a graceful stop does not pick it until it answers again.
    private void ObserveUnreachable(string nodeId)
    {
        if (_followers is { } book && book.Trackers.TryGetValue(nodeId, out var tracker))
        {
            Volatile.Write(ref tracker.LastUnreachable, _timeProvider.GetTimestamp());
        }
    }

    // Loop only: every leadership starts with an empty book.
    private void OnLeadershipChanged(SoftState softState)
    {
        if (softState.Role != StateRole.Leader)
        {
            _followers = null;
        }
        else if (_followers?.Term != softState.Term)
        {
            _followers = new FollowerBook(softState.Term, new Dictionary<string, FollowerTracker>(StringComparer.Ordinal));
        }
    }

    // Loop only: the voter to hand leadership to on a graceful stop: the most up-to-date one heard from within an
    // election timeout and not reported unreachable since, or null when there is none.
    private string? ChooseReachableVoter(RaftStatus status)
    {
        if (_followers is not { } book || status.Configuration is not { } configuration)
        {
            return null;
        }

        var now = _timeProvider.GetTimestamp();
        string? best = null;
        var bestMatch = -1L;
        foreach (var voter in configuration.Voters)
        {
            if (voter != Id &&
                book.Trackers.TryGetValue(voter, out var tracker) &&
                tracker.LastContact != 0 &&
                tracker.LastUnreachable <= tracker.LastContact &&
                _timeProvider.GetElapsedTime(tracker.LastContact, now) < _electionTimeout &&
                tracker.Match > bestMatch)
            {
                best = voter;
                bestMatch = tracker.Match;
            }
        }

        return best;
    }

    private sealed class FollowerTracker
    {
        // Written by the loop only.
        public long Match;

        // A TimeProvider timestamp; 0 until the first answer.
        public long LastContact;

        // A TimeProvider timestamp of the latest unreachable report from the transport; 0 if none.
        public long LastUnreachable;
    }

    private sealed record FollowerBook(long Term, Dictionary<string, FollowerTracker> Trackers);
}
