using System.Text.Json;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>The host's mistakes are found when the server is built, not when a client calls.</summary>
public sealed class ServerOptionsTests
{
    private static McpTool Tool(string name = "sd.ok", string schema = """{"type":"object"}""", bool destructive = false, McpToolAnnotations? annotations = null) => new()
    {
        Name = name,
        Description = "a tool",
        InputSchema = JsonElement.Parse(schema),
        Destructive = destructive,
        Annotations = annotations,
        Handler = (_, _) => ValueTask.FromResult(McpToolResult.FromText("ok")),
    };

    private static McpServer Build(params McpTool[] tools) => new(new McpServerOptions { Agent = "a", AllowList = McpTestHost.AllowList, Tools = tools });

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("émoji")]
    public void A_tool_name_outside_MCPs_characters_is_refused(string name)
    {
        Assert.Contains("is not 1 to 128 characters", Assert.Throws<ArgumentException>(() => Build(Tool(name))).Message);
    }

    [Fact]
    public void A_tool_name_of_129_characters_is_refused_and_128_accepted()
    {
        Build(Tool(new string('a', 128)));
        Assert.Throws<ArgumentException>(() => Build(Tool(new string('a', 129))));
    }

    [Fact]
    public void Two_tools_with_one_name_are_refused()
    {
        Assert.Contains("Two tools are named 'sd.ok'", Assert.Throws<ArgumentException>(() => Build(Tool(), Tool())).Message);
    }

    [Theory]
    [InlineData("""{"type":"string"}""")]
    [InlineData("""{"properties":{}}""")]
    [InlineData("""[]""")]
    [InlineData("""{"type":"object","properties":[]}""")]
    [InlineData("""{"type":"object","required":"a"}""")]
    [InlineData("""{"type":"object","properties":{"a":{"type":5}}}""")]
    [InlineData("""{"type":"object","properties":{"a":{"enum":"x"}}}""")]
    public void An_input_schema_that_is_not_an_object_schema_is_refused(string schema)
    {
        Assert.Throws<ArgumentException>(() => Build(Tool(schema: schema)));
        Assert.Throws<ArgumentException>(() => Build(Tool(schema: schema, destructive: true)));
    }

    [Fact]
    public void A_destructive_tool_cannot_be_read_only_nor_use_approve_for_anything_but_the_flag()
    {
        Assert.Throws<ArgumentException>(() => Build(Tool(destructive: true, annotations: new McpToolAnnotations { ReadOnly = true })));
        Assert.Contains("approval flag", Assert.Throws<ArgumentException>(() => Build(Tool(schema: """{"type":"object","properties":{"approve":{"type":"string"}}}""", destructive: true))).Message);
        // Declared as the boolean it is: accepted as it is.
        Build(Tool(schema: """{"type":"object","properties":{"approve":{"type":"boolean","description":"mine"}}}""", destructive: true));
    }

    [Fact]
    public void Limits_and_the_agent_are_checked()
    {
        var options = new McpServerOptions { Agent = "a", AllowList = McpTestHost.AllowList };
        Assert.Throws<ArgumentException>(() => new McpServer(options with { Agent = " " }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServer(options with { MaxMessageBytes = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServer(options with { MaxConcurrentCalls = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServer(options with { PageSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServer(options with { ApprovalTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServer(options with { ShutdownTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public void Prompts_need_a_unique_name_messages_and_distinct_arguments()
    {
        var options = new McpServerOptions { Agent = "a", AllowList = McpTestHost.AllowList };
        var prompt = McpPrompt.SystemPrompt("p", "text");
        Assert.Throws<ArgumentException>(() => new McpServer(options with { Prompts = [prompt, prompt] }));
        Assert.Throws<ArgumentException>(() => new McpServer(options with { Prompts = [new McpPrompt { Name = "p", Messages = [] }] }));
        Assert.Throws<ArgumentException>(() => new McpServer(options with
        {
            Prompts = [new McpPrompt { Name = "p", Arguments = [new("x"), new("x")], Messages = [new(McpRole.User, "{{x}}")] }],
        }));
    }
}
