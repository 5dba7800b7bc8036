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
    private int MaxFaulty => (_nodes.Length - 1) / 2;

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

        if (Options.MeanTimeBetweenCampaignsMicros > 0)
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
            case FaultKind.Campaign:
                // An election timer that fires early (a paused process, a skewed clock): a node campaigns at once.
                var candidate = _nodes[_faultRandom.Next(_nodes.Length)];
                Trace($"{candidate.Id} campaigns out of turn");
                candidate.Campaign();
                Schedule(_faultRandom.Exponential(Options.MeanTimeBetweenCampaignsMicros), new FaultEvent(FaultKind.Campaign));
                break;
        }
    }

    private void Partition()
    {
        var n = _nodes.Length;
        var roll = _faultRandom.Next(100);
        if (roll < 30)
        {
            // Cut the leader off both ways: the rest must elect another while it still believes it leads.
            var victim = CurrentLeader() ?? _faultRandom.Next(n);
            for (var other = 0; other < n; other++)
            {
                Network.Block(victim, other);
                Network.Block(other, victim);
            }
        }
        else if (roll < 55)
        {
            // A minority on one side, a majority on the other.
            var order = Shuffled(n);
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
            var victim = _faultRandom.Chance(0.5) && CurrentLeader() is { } leader ? leader : _faultRandom.Next(n);
            var mute = _faultRandom.Chance(0.5);
            for (var other = 0; other < n; other++)
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
            for (var from = 0; from < n; from++)
            {
                for (var to = 0; to < n; to++)
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
        var up = _nodes.Where(node => node.IsUp).ToList();
        if (_nodes.Length - up.Count >= MaxFaulty || up.Count == 0)
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
