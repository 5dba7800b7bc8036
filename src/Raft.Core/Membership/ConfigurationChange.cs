namespace Raft.Core.Membership;

/// <summary>The kinds of single-server membership change (thesis §4.1).</summary>
public enum ConfigurationChangeKind
{
    /// <summary>Add a node that receives the log but does not vote, so it can catch up without hurting availability.</summary>
    AddLearner,

    /// <summary>Make a caught-up learner a voter.</summary>
    PromoteLearner,

    /// <summary>Remove a voter or learner (the leader itself included: it steps down once the change commits).</summary>
    Remove,
}

/// <summary>One single-server membership change.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="NodeId">The node it concerns.</param>
public sealed record ConfigurationChange(ConfigurationChangeKind Kind, string NodeId);
