using Raft.Core.Membership;

namespace Raft.Testing.Simulation;

/// <summary>
/// Lost disks (<see cref="SimulationOptions.LoseDisks"/>): the membership operator's procedure for a voter whose storage
/// is gone, as the README prescribes it. The voter goes down and stays down; the operator removes it; once a committed
/// configuration no longer has it, its stores are replaced by empty ones and it starts again under its id, with the
/// bootstrap voters (so it believes itself a voter and may campaign); the operator then adds it back as a learner and
/// promotes it once it caught up. A leader refuses the re-add in the term the node was a member in, and the operator
/// then asks it to hand leadership over, as the refusal says.
/// </summary>
/// <remarks>
/// Until its removal commits, the node keeps its old stores (it is down, so nobody can tell): the invariants see a
/// crashed voter, which is what a lost disk is to a cluster that does not restart it. A removal that has not committed
/// when the liveness phase starts is abandoned, and the node comes back with its disk after all.
/// </remarks>
public sealed partial class Simulator
{
    // Voters whose disk is lost: down, kept down until a committed configuration no longer has them.
    private readonly HashSet<string> _lostDisks = new(StringComparer.Ordinal);

    // The node restarted empty after its removal, for the operator to add back.
    private string? _returning;

    private int _disksReplaced;

    // A leader refused to add the node back in the term it was removed in; the operator asks for a leadership change.
    private bool _handOverWanted;

    // A plan of the lost-disk procedure when one is due: bring the rebuilt node back, or lose another disk now and
    // then. False leaves the choice to the ordinary plans.
    private bool ChooseLostDiskTarget(ClusterConfiguration configuration)
    {
        if (!Options.LoseDisks)
        {
            return false;
        }

        var voters = configuration.Voters;
        if (_returning is { } returning)
        {
            if (configuration.IsVoter(returning))
            {
                Trace($"lost disk: {returning} is a voter again");
                _returning = null;
                _disksReplaced++;
                return false;
            }

            _targetVoters = new HashSet<string>(voters, StringComparer.Ordinal) { returning };
            _targetDescription = $"bring back {returning}: ({string.Join(" ", voters)}) -> ({string.Join(" ", _targetVoters.Order(StringComparer.Ordinal))})";
            Trace($"membership: new target, {_targetDescription}");
            return true;
        }

        if (_lostDisks.Count > 0 || voters.Count < MinVoters || !_membershipRandom.Chance(0.5))
        {
            return false;
        }

        var victim = _byId[_membershipRandom.Pick(voters.Order(StringComparer.Ordinal).ToArray())];
        Trace($"lost disk: {victim.Id} goes down with its storage");
        if (victim.IsUp)
        {
            victim.Crash("disk lost");
        }

        _lostDisks.Add(victim.Id);
        _targetVoters = new HashSet<string>(voters.Where(id => id != victim.Id), StringComparer.Ordinal);
        _targetDescription = $"remove {victim.Id}, whose disk is lost: ({string.Join(" ", voters)}) -> ({string.Join(" ", _targetVoters.Order(StringComparer.Ordinal))})";
        Trace($"membership: new target, {_targetDescription}");
        return true;
    }

    // A committed configuration no longer has the node whose disk was lost: it starts again empty, soon.
    private bool RebuildIfLost(SimNode node)
    {
        if (!_lostDisks.Remove(node.Id))
        {
            return false;
        }

        node.LoseStorage(rejoinAfterCommitIndex: _committed.LastIndex);
        _joined.Remove(node.Id);
        _returning = node.Id;
        Trace($"lost disk: {node.Id} was removed; it starts again with empty stores, rejoining after commit index {_committed.LastIndex}");
        var electionMicros = Options.ElectionTick * Options.TickMicros;
        Schedule(_membershipRandom.NextLong(1, electionMicros), new RestartEvent(node.Index));

        // What reached its earlier self arrives again, late, at the empty node: grants, acknowledgements, TimeoutNow.
        Network.ReplayToNewIncarnation(node.Index, electionMicros * 6);
        return true;
    }

    private bool DiskLost(SimNode node) => _lostDisks.Contains(node.Id);

    // The liveness phase, where the operator stops: a removal that has not committed is abandoned, and the node's disk
    // comes back with it. A rebuilt node not yet added back keeps running outside the configuration, as a real one
    // would until the operator returns.
    private void EndLostDiskProcedures() => _lostDisks.Clear();

    // The operator does what a refused re-add says: a leadership change, so that the node is added back in a later
    // term. Asked at its next step, not from inside the leader's handling of the refusal.
    private void OnReAddRefused(string? reason) =>
        _handOverWanted |= reason is not null && reason.Contains("TransferLeadershipAsync", StringComparison.Ordinal);

    private bool HandOverBeforeReAdd()
    {
        if (!_handOverWanted || NewestLeader() is not { } index)
        {
            return false;
        }

        _handOverWanted = false;
        var leader = _nodes[index];
        leader.TransferLeadership(null, outcome =>
            Trace($"lost disk: {leader.Id} hands leadership over before the re-add: {outcome.Status}{(outcome.Reason is null ? string.Empty : $" ({outcome.Reason})")}"));
        return true;
    }
}
