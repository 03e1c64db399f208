using ControlPlane.Dataplane;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>The node turns inline socket completions on at start, unless the operator set the runtime's switch.</summary>
public sealed class SocketCompletionsTests
{
    [Fact]
    public void PreferInline_SetsTheSwitchWhenUnset_AndLeavesAnOperatorsChoice()
    {
        var before = Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable);
        try
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, null);
            Assert.True(SocketCompletions.PreferInline());
            Assert.Equal("1", Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));

            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, "0");
            Assert.False(SocketCompletions.PreferInline());
            Assert.Equal("0", Environment.GetEnvironmentVariable(SocketCompletions.InlineVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SocketCompletions.InlineVariable, before);
        }
    }
}
