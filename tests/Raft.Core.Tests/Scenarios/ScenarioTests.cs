using System.Runtime.CompilerServices;

namespace Raft.Core.Tests.Scenarios;

/// <summary>
/// Protocol scenarios as text scripts (testdata/*.txt): each block's command runs against <see cref="ScenarioEnv"/>
/// and its output must match the block's expected text. <c>RAFT_REWRITE=1</c> rewrites the expected output in the
/// source tree instead of comparing; review the diff before committing it.
/// </summary>
public sealed class ScenarioTests
{
    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scenarios", "testdata"), "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_RunsAsWritten(string name)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Scenarios", "testdata", name + ".txt"));
        var items = ScriptFile.Parse(text);
        var env = new ScenarioEnv();
        var rewrite = Environment.GetEnvironmentVariable("RAFT_REWRITE") == "1";
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not ScriptBlock block)
            {
                continue;
            }

            var actual = env.Run(block);
            if (rewrite)
            {
                items[i] = block with { Expected = actual };
            }
            else
            {
                Assert.True(
                    block.Expected == actual,
                    $"{name}.txt line {block.Line}: {block.Command}\n--- expected\n{block.Expected}--- actual\n{actual}");
            }
        }

        if (rewrite)
        {
            File.WriteAllText(Path.Combine(SourceDirectory(), "testdata", name + ".txt"), ScriptFile.Render(items));
        }
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
