using Raft.Core.Engine;

namespace Raft.Testing.Simulation;

/// <summary>The fault schedule of the safety phase: partitions that come and go, node crashes and untimely elections.</summary>
/// <remarks>
/// Lost, duplicated and reordered messages are the network's own (<see cref="SimulatedNetwork"/>); crashes inside
/// durable writes are the stores' (<see cref="SimNode.DecideWriteFate"/>). Gaps and durations are exponential, so
/// faults sometimes pile up and sometimes leave the cluster alone long enough to elect a leader and commit.
/// </remarks>
public sealed partial class Simulator
{
    // Faults are aimed at the nodes that are part of the cluster now (spares not yet added and retired nodes are left alone).
    private int MaxFaulty => (ActiveNodes().Count - 1) / 2;

    private void ScheduleFaults()
    {
        if (Options.MeanTimeBetweenPartitionsMicros > 0)
        {
            Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenPartitionsMicros), new FaultEvent(FaultKind.StartPartition));
        }

        if (Options.MeanTimeBetweenCrashesMicros > 0)
        {
            Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenCrashesMicros), new FaultEvent(FaultKind.Crash));
        }

        // An early election timer is a clock fault: it breaks the bound a lease relies on (a node that campaigns forgets
        // the leader it promised not to desert), so lease seeds keep clocks within their bound and have none.
        if (Options.MeanTimeBetweenCampaignsMicros > 0 && Options.ReadOnlyOption != ReadOnlyOption.LeaseBased)
        {
            Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenCampaignsMicros), new FaultEvent(FaultKind.Campaign));
        }
    }

    private void OnFault(FaultKind kind)
    {
        if (_phase != SimPhase.Safety)
        {
            return;
        }

        switch (kind)
        {
            case FaultKind.StartPartition:
                Partition();
                Trace($"partition: {Network.DescribeBlocked()}");
                Schedule(_faultRandom.Exponential(Options.MeanPartitionMicros), new FaultEvent(FaultKind.HealPartition));
                break;
            case FaultKind.HealPartition:
                Network.HealAll();
                Trace("partition healed");
                Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenPartitionsMicros), new FaultEvent(FaultKind.StartPartition));
                break;
            case FaultKind.Crash:
                CrashSomeNode();
                Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenCrashesMicros), new FaultEvent(FaultKind.Crash));
                break;
            case FaultKind.Membership:
                OnMembershipStep();
                break;
            case FaultKind.Transfer:
                OnTransferStep();
                break;
            case FaultKind.Campaign:
                // An election timer that fires early (a paused process, a skewed clock): a node campaigns at once.
                var candidate = _faultRandom.Pick(ActiveNodes());
                Trace($"{candidate.Id} campaigns out of turn");
                candidate.Campaign();
                Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenCampaignsMicros), new FaultEvent(FaultKind.Campaign));
                break;
        }
    }

    private void Partition()
    {
        // Partitions are drawn over the active nodes; a spare that joins later is reachable until the next one.
        var active = ActiveNodes().Select(node => node.Index).ToArray();
        var n = active.Length;
        var roll = _faultRandom.Next(100);
        if (roll < 30)
        {
            // Cut the leader off both ways: the rest must elect another while it still believes it leads.
            var victim = CurrentLeader() ?? _faultRandom.Pick(active);
            foreach (var other in active)
            {
                Network.Block(victim, other);
                Network.Block(other, victim);
            }
        }
        else if (roll < 55)
        {
            // A minority on one side, a majority on the other.
            var order = Shuffled(n).Select(i => active[i]).ToArray();
            var minority = 1 + _faultRandom.Next(Math.Max(1, MaxFaulty));
            for (var i = 0; i < minority; i++)
            {
                for (var j = minority; j < n; j++)
                {
                    Network.Block(order[i], order[j]);
                    Network.Block(order[j], order[i]);
                }
            }
        }
        else if (roll < 75)
        {
            // One-way: a node that can hear but not speak (or the reverse), the leader half of the time.
            var victim = _faultRandom.Chance(0.5) && CurrentLeader() is { } leader ? leader : _faultRandom.Pick(active);
            var mute = _faultRandom.Chance(0.5);
            foreach (var other in active)
            {
                if (mute)
                {
                    Network.Block(victim, other);
                }
                else
                {
                    Network.Block(other, victim);
                }
            }
        }
        else
        {
            // Flaky links: each direction of each link fails on its own.
            foreach (var from in active)
            {
                foreach (var to in active)
                {
                    if (_faultRandom.Chance(0.3))
                    {
                        Network.Block(from, to);
                    }
                }
            }
        }
    }

    private void CrashSomeNode()
    {
        var active = ActiveNodes();
        var up = active.Where(node => node.IsUp).ToList();
        if (active.Count - up.Count >= (active.Count - 1) / 2 || up.Count == 0)
        {
            return;
        }

        var victim = _faultRandom.Chance(0.5) && CurrentLeader() is { } leader && _nodes[leader].IsUp
            ? _nodes[leader]
            : _faultRandom.Pick(up);
        victim.Crash("crash fault");
        ScheduleRestart(victim);
    }

    /// <summary>The live leader of the highest term, if any.</summary>
    private int? CurrentLeader()
    {
        int? leader = null;
        long term = -1;
        foreach (var node in _nodes)
        {
            if (node.IsUp && node.Status is { Role: StateRole.Leader } status && status.Term > term)
            {
                leader = node.Index;
                term = status.Term;
            }
        }

        return leader;
    }

    private int[] Shuffled(int n)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (var i = n - 1; i > 0; i--)
        {
            var j = _faultRandom.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
