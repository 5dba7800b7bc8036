using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Raft.Testing.Simulation;

/// <summary>
/// The membership operator: single-server changes (thesis §4.1) made while the faults run, the way an operator or an
/// orchestrator would: grow the cluster (add a learner, let it catch up, promote it), shrink it, replace a server,
/// remove the leader. Spare nodes join on the fly; a node removed by a committed change is shut down for good.
/// </summary>
/// <remarks>
/// <para>
/// The operator works towards a target set of voters, one change at a time, always derived afresh from the
/// configuration on the newest leader (a stale one, cut off in an older term, may show a configuration long gone): a change that was refused, dropped or lost with its leader is simply proposed
/// again later, and one that turns out to have happened is not. Each accepted change is tracked like a client command,
/// so the liveness phase also requires it to resolve. Once the target is reached, the next is drawn at random.
/// </para>
/// <para>
/// Voters stay between 3 and 7 (a change to 2 voters would make every crash fatal to progress). In the liveness phase
/// the operator stops; whatever configuration is in force then must elect a leader and serve the clients.
/// </para>
/// </remarks>
public sealed partial class Simulator
{
    private const int MinVoters = 3;
    private const int MaxVoters = 7;

    private readonly SimRandom _membershipRandom;

    // Nodes that were ever in the committed configuration: they are retired once a committed change removes them.
    private readonly HashSet<string> _joined = new(StringComparer.Ordinal);

    private HashSet<string>? _targetVoters;
    private string? _targetDescription;
    private (ConfigurationChange Change, Task<ProposalResult> Completion, long Deadline)? _changeInFlight;

    // A change handed to a leader whose engine has not answered yet (its writes are in flight).
    private bool _changeSubmitted;
    private int _nextSpare = -1;

    private void ScheduleMembership()
    {
        _nextSpare = Options.ClusterSize;
        if (Options.MeanTimeBetweenMembershipChangesMicros > 0)
        {
            Schedule(_membershipRandom.Exponential(Options.MeanTimeBetweenMembershipChangesMicros), new FaultEvent(FaultKind.Membership));
        }

        if (Options.MeanTimeBetweenTransfersMicros > 0)
        {
            Schedule(_membershipRandom.Exponential(Options.MeanTimeBetweenTransfersMicros), new FaultEvent(FaultKind.Transfer));
        }
    }

    private void OnMembershipStep()
    {
        Schedule(_membershipRandom.Exponential(Options.MeanTimeBetweenMembershipChangesMicros), new FaultEvent(FaultKind.Membership));
        if (_changeSubmitted)
        {
            return;
        }

        if (_changeInFlight is { } inFlight)
        {
            if (!inFlight.Completion.IsCompleted && Now < inFlight.Deadline)
            {
                return;
            }

            Trace($"membership: {Describe(inFlight.Change)} {DescribeOutcome(inFlight.Completion)}");
            _changeInFlight = null;
        }

        if (NewestLeader() is not { } leaderIndex)
        {
            return;
        }

        var leader = _nodes[leaderIndex];
        var status = leader.Status;
        var configuration = status.Configuration!;
        if (_targetVoters is null || Reached(configuration))
        {
            ChooseTarget(configuration, leader.Id);
            if (_targetVoters is null)
            {
                return;
            }
        }

        if (NextChange(configuration, status) is not { } change)
        {
            return;
        }

        var subject = _byId[change.NodeId];
        if (subject.State == NodeState.Dormant)
        {
            // A new server is started empty before it is added; it learns the configuration from the log or a snapshot.
            Trace($"membership: {subject.Id} joins the network (empty, bootstrap voters {_initialConfiguration})");
            subject.Start();
        }

        _changeSubmitted = true;
        var target = _targetDescription;
        leader.ProposeConfigurationChange(change, (outcome, completion) =>
        {
            _changeSubmitted = false;
            Trace($"membership ({target}): {leader.Id} {Describe(change)}: {outcome.Status}{(outcome.IsAccepted ? $" at {outcome.Term}/{outcome.Index}" : $" ({outcome.Reason})")}");
            if (outcome.IsAccepted)
            {
                _changeInFlight = (change, completion!, Now + Options.ClientTimeoutMicros);
            }
        });
    }

    private void OnTransferStep()
    {
        Schedule(_membershipRandom.Exponential(Options.MeanTimeBetweenTransfersMicros), new FaultEvent(FaultKind.Transfer));
        if (NewestLeader() is not { } leaderIndex)
        {
            return;
        }

        var leader = _nodes[leaderIndex];
        var voters = leader.Status.Configuration!.Voters.Where(id => id != leader.Id).ToArray();
        var roll = _membershipRandom.Next(100);
        var target = roll < 40 || voters.Length == 0 ? null
            : roll < 90 ? _membershipRandom.Pick(voters)
            : _membershipRandom.Pick(_nodes).Id; // perhaps a learner, a spare or itself: must be refused cleanly
        leader.TransferLeadership(target, outcome =>
        {
            if (outcome.IsAccepted)
            {
                _features.Transfers++;
            }

            Trace($"transfer: {leader.Id} hands leadership to {target ?? "the most up-to-date voter"}: {outcome.Status} {outcome.LeaderHint ?? string.Empty}{(outcome.Reason is null ? string.Empty : $" ({outcome.Reason})")}");
        });
    }

    private bool Reached(ClusterConfiguration configuration) =>
        configuration.Learners.Count == 0 && configuration.Voters.Count == _targetVoters!.Count && configuration.Voters.All(_targetVoters.Contains);

    private void ChooseTarget(ClusterConfiguration configuration, string leader)
    {
        var voters = configuration.Voters.ToList();
        var spares = _nodes.Length - _nextSpare;
        var options = new List<string>();
        if (voters.Count < 5 && spares > 0)
        {
            options.Add("grow");
        }

        if (voters.Count > MinVoters)
        {
            options.Add("shrink");
            options.Add("remove the leader");
        }

        if (spares > 0)
        {
            options.Add("replace");
            if (voters.Count < MaxVoters)
            {
                options.Add("replace the leader");
            }
        }

        _targetVoters = null;
        if (options.Count == 0)
        {
            return;
        }

        var plan = _membershipRandom.Pick(options);
        var target = new HashSet<string>(voters, StringComparer.Ordinal);
        switch (plan)
        {
            case "grow":
                var add = Math.Min(spares, voters.Count < 4 ? 5 - voters.Count : 1);
                for (var i = 0; i < add; i++)
                {
                    target.Add(_nodes[_nextSpare++].Id);
                }

                break;
            case "shrink":
                var remove = Math.Min(voters.Count - MinVoters, 1 + _membershipRandom.Next(2));
                for (var i = 0; i < remove; i++)
                {
                    target.Remove(_membershipRandom.Pick(target.Order(StringComparer.Ordinal).ToArray()));
                }

                break;
            case "remove the leader":
                target.Remove(leader);
                break;
            case "replace":
                target.Remove(_membershipRandom.Pick(voters.Where(id => id != leader).ToArray()));
                target.Add(_nodes[_nextSpare++].Id);
                break;
            default:
                target.Remove(leader);
                target.Add(_nodes[_nextSpare++].Id);
                break;
        }

        _targetVoters = target;
        _targetDescription = $"{plan}: ({string.Join(" ", voters)}) -> ({string.Join(" ", target.Order(StringComparer.Ordinal))})";
        Trace($"membership: new target, {_targetDescription}");
    }

    // The next single-server change towards the target: add missing servers first (as learners, promoted once caught up),
    // then remove voters and learners outside it; null while a learner catches up.
    private ConfigurationChange? NextChange(ClusterConfiguration configuration, RaftStatus leader)
    {
        var target = _targetVoters!;
        foreach (var id in target.Order(StringComparer.Ordinal).ToArray())
        {
            if (configuration.IsVoter(id))
            {
                continue;
            }

            if (!configuration.Contains(id))
            {
                if (_byId[id].State == NodeState.Retired)
                {
                    // Shut down for good after an earlier removal: a target drawn from an outdated view cannot have it
                    // back. Without it the target may be too small: then a new one is drawn next time.
                    target.Remove(id);
                    Trace($"membership: {id} is retired and stays out; target now ({string.Join(" ", target.Order(StringComparer.Ordinal))})");
                    if (target.Count < MinVoters)
                    {
                        _targetVoters = null;
                        return null;
                    }

                    return NextChange(configuration, leader);
                }

                return new ConfigurationChange(ConfigurationChangeKind.AddLearner, id);
            }

            // Promote once the learner holds everything committed; now and then sooner (legal, only slower to commit).
            var learner = _byId[id];
            var caughtUp = learner.IsUp && learner.Log.LastIndex >= leader.CommitIndex;
            return caughtUp || _membershipRandom.Chance(0.05) ? new ConfigurationChange(ConfigurationChangeKind.PromoteLearner, id) : null;
        }

        foreach (var id in configuration.Voters.Concat(configuration.Learners))
        {
            if (!target.Contains(id))
            {
                return new ConfigurationChange(ConfigurationChangeKind.Remove, id);
            }
        }

        return null;
    }

    // A configuration entry committed: members it removed are shut down (soon, or at once in the liveness phase).
    private void OnConfigurationCommitted()
    {
        var configuration = _committed.Configuration;
        Trace($"membership: committed configuration {configuration} at or before index {_committed.LastIndex}");
        foreach (var node in _nodes)
        {
            if (configuration.Contains(node.Id))
            {
                _joined.Add(node.Id);
            }
            else if (node.IsActive && _joined.Contains(node.Id))
            {
                // It may still be needed for nothing, but a real operator takes a while to notice; meanwhile it may disrupt.
                Schedule(_phase == SimPhase.Safety ? _membershipRandom.NextLong(0, Options.ElectionTick * Options.TickMicros * 2) : 0, new RetireEvent(node.Index));
            }
        }
    }

    private void Retire(SimNode node)
    {
        if (!node.IsActive || _committed.Configuration.Contains(node.Id))
        {
            return;
        }

        Trace($"{node.Id} retires: removed from the configuration");
        node.Retire();
    }

    /// <summary>Nodes that are part of the cluster's life now (started, not retired), whether up or down.</summary>
    private List<SimNode> ActiveNodes() => _nodes.Where(node => node.IsActive).ToList();

    private static string Describe(ConfigurationChange change) => $"{change.Kind} {change.NodeId}";

    private static string DescribeOutcome(Task<ProposalResult> completion) =>
        !completion.IsCompleted ? "timed out"
        : completion.IsCompletedSuccessfully ? $"applied at {completion.Result.Index}"
        : $"failed: {completion.Exception?.InnerException?.Message}";
}
