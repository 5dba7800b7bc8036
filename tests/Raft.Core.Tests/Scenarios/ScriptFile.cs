using System.Text;

namespace Raft.Core.Tests.Scenarios;

/// <summary>
/// A scenario script in etcd's datadriven shape: blocks of <c>command args</c>, a <c>----</c> line, and the
/// expected output, separated by blank lines. Lines starting with <c>#</c> outside blocks are comments.
/// </summary>
internal sealed record ScriptBlock(int Line, string Command, string Expected);

internal static class ScriptFile
{
    public static List<object> Parse(string text)
    {
        // Items are either comment strings or blocks, so that a rewrite keeps the comments in place.
        var items = new List<object>();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var i = 0;
        while (i < lines.Length)
        {
            var line = lines[i];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                items.Add(line);
                i++;
                continue;
            }

            var start = i + 1;
            var command = line;
            i++;
            if (i >= lines.Length || lines[i] != "----")
            {
                throw new FormatException($"line {start}: expected '----' after the command '{command}'.");
            }

            i++;
            var expected = new StringBuilder();
            while (i < lines.Length && lines[i].Length > 0)
            {
                expected.Append(lines[i]).Append('\n');
                i++;
            }

            items.Add(new ScriptBlock(start, command, expected.ToString()));
        }

        // Drop the trailing empty string produced by the final newline.
        while (items.Count > 0 && items[^1] is "")
        {
            items.RemoveAt(items.Count - 1);
        }

        return items;
    }

    public static string Render(IEnumerable<object> items)
    {
        var sb = new StringBuilder();
        foreach (var item in items)
        {
            if (item is ScriptBlock block)
            {
                sb.Append(block.Command).Append('\n').Append("----\n").Append(block.Expected);
            }
            else
            {
                sb.Append((string)item).Append('\n');
            }
        }

        return sb.ToString();
    }
}
