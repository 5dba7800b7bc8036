using Raft.Core.Messages;
using Xunit;

namespace Raft.Testing.Conformance;

/// <summary>Field-by-field comparisons of Raft types (records compare buffers and lists by reference, which stores and transports that copy would fail).</summary>
public static class RaftAssert
{
    /// <summary>Asserts that two entries have the same index, term, type and payload bytes.</summary>
    /// <param name="expected">The expected entry.</param>
    /// <param name="actual">The actual entry.</param>
    public static void EntryEqual(Entry expected, Entry actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Index, actual.Index);
        Assert.Equal(expected.Term, actual.Term);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
    }

    /// <summary>Asserts that two lists of entries are equal entry by entry.</summary>
    /// <param name="expected">The expected entries.</param>
    /// <param name="actual">The actual entries.</param>
    public static void EntriesEqual(IReadOnlyList<Entry> expected, IReadOnlyList<Entry> actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            EntryEqual(expected[i], actual[i]);
        }
    }

    /// <summary>Asserts that two messages are equal field by field, entries and context bytes included.</summary>
    /// <param name="expected">The expected message.</param>
    /// <param name="actual">The actual message.</param>
    public static void MessageEqual(Message expected, Message actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.From, actual.From);
        Assert.Equal(expected.To, actual.To);
        Assert.Equal(expected.Term, actual.Term);
        Assert.Equal(expected.LogTerm, actual.LogTerm);
        Assert.Equal(expected.Index, actual.Index);
        Assert.Equal(expected.Commit, actual.Commit);
        Assert.Equal(expected.Reject, actual.Reject);
        Assert.Equal(expected.RejectHint, actual.RejectHint);
        Assert.Equal(expected.Context.ToArray(), actual.Context.ToArray());
        EntriesEqual(expected.Entries, actual.Entries);
    }
}
