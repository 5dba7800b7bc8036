namespace Raft.Core.Quorum;

/// <summary>The state of an election tally.</summary>
public enum VoteResult
{
    /// <summary>Neither a majority of grants nor of rejections yet.</summary>
    Pending,

    /// <summary>A majority granted.</summary>
    Won,

    /// <summary>A majority rejected; the election cannot be won.</summary>
    Lost,
}
