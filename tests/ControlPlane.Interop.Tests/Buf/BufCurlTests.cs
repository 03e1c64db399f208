using System.Text.Json;
using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Buf;

/// <summary>
/// buf curl, an independent gRPC client, discovers our server's services through server reflection
/// and calls them with JSON bodies: list, call each shape, health, errors, metadata.
/// </summary>
public sealed class BufCurlTests(OurServerFixture fixture) : IClassFixture<OurServerFixture>
{
    private const string TestService = "interop.v1.TestService";

    private string Url(string path = "") => fixture.Server.Address.ToString().TrimEnd('/') + path;

    [Theory]
    [InlineData("grpc-v1")]
    [InlineData("grpc-v1alpha")]
    public async Task ListServices_ShowsEveryBoundService(string reflectProtocol)
    {
        var output = await BufCurl.RunOkAsync("--reflect-protocol", reflectProtocol, "--list-services", Url());

        Assert.Equal(
            new[] { "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", TestService },
            BufCurl.Lines(output).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ListMethods_ShowsEveryMethod()
    {
        var output = await BufCurl.RunOkAsync("--list-methods", Url());

        string[] expected =
        [
            "grpc.health.v1.Health/Check",
            "grpc.health.v1.Health/Watch",
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            .. new[] { "EmptyCall", "FullDuplexCall", "StreamingInputCall", "StreamingOutputCall", "UnaryCall", "UnimplementedCall" }.Select(m => TestService + "/" + m),
        ];
        Assert.Equal(expected, BufCurl.Lines(output).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("grpc-v1")]
    [InlineData("grpc-v1alpha")]
    public async Task UnaryCall_WithJsonBody_ReturnsZeroPayload(string reflectProtocol)
    {
        var output = await BufCurl.RunOkAsync("--reflect-protocol", reflectProtocol, "-d", """{"response_size": 10}""", Url($"/{TestService}/UnaryCall"));

        var response = Assert.Single(BufCurl.ParseMessages(output));
        Assert.Equal("AAAAAAAAAAAAAA==", response.GetProperty("payload").GetProperty("body").GetString());
    }

    [Fact]
    public async Task ServerStreamingCall_ReturnsEveryMessage()
    {
        var output = await BufCurl.RunOkAsync(
            "-d", """{"response_parameters": [{"size": 1}, {"size": 2}, {"size": 3}, {"size": 4}]}""", Url($"/{TestService}/StreamingOutputCall"));

        Assert.Equal(
            new[] { "AA==", "AAA=", "AAAA", "AAAAAA==" },
            BufCurl.ParseMessages(output).Select(m => m.GetProperty("payload").GetProperty("body").GetString()));
    }

    [Fact]
    public async Task ClientStreamingCall_AggregatesEveryRequest()
    {
        var output = await BufCurl.RunOkAsync(
            "-d", """{"payload": {"body": "AAA="}} {"payload": {"body": "AAAA"}} {"payload": {"body": "AAAAAA=="}}""", Url($"/{TestService}/StreamingInputCall"));

        var response = Assert.Single(BufCurl.ParseMessages(output));
        Assert.Equal(9, response.GetProperty("aggregatedPayloadSize").GetInt32());
    }

    [Fact]
    public async Task FullDuplexCall_AnswersEachRequest()
    {
        var output = await BufCurl.RunOkAsync(
            "-d", """{"response_parameters": [{"size": 1}]} {"response_parameters": [{"size": 2}, {"size": 3}]}""", Url($"/{TestService}/FullDuplexCall"));

        Assert.Equal(
            new[] { "AA==", "AAA=", "AAAA" },
            BufCurl.ParseMessages(output).Select(m => m.GetProperty("payload").GetProperty("body").GetString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData(TestService)]
    public async Task HealthCheck_ReportsServing(string service)
    {
        var output = await BufCurl.RunOkAsync("-d", JsonSerializer.Serialize(new { service }), Url("/grpc.health.v1.Health/Check"));

        var response = Assert.Single(BufCurl.ParseMessages(output));
        Assert.Equal("SERVING", response.GetProperty("status").GetString());
    }

    [Fact]
    public async Task HealthCheck_UnknownService_IsNotFound()
    {
        var result = await BufCurl.RunAsync("-d", """{"service": "no.such.Service"}""", Url("/grpc.health.v1.Health/Check"));

        Assert.True(result.ExitCode == 5 << 3, result.ToString());
        Assert.Equal("not_found", Assert.Single(BufCurl.ParseMessages(result.StandardError)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ErrorStatus_IsReportedWithCodeAndMessage()
    {
        const string message = "no such thing \u263a";
        var result = await BufCurl.RunAsync(
            "-d", JsonSerializer.Serialize(new { response_status = new { code = 5, message } }), Url($"/{TestService}/UnaryCall"));

        // buf curl exits with the gRPC code shifted left by 3 and prints the status as JSON on stderr.
        Assert.True(result.ExitCode == 5 << 3, result.ToString());
        var error = Assert.Single(BufCurl.ParseMessages(result.StandardError));
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task CustomMetadata_IsEchoedInHeadersAndTrailers()
    {
        // "q6ur" is base64 of the bytes ab ab ab.
        var result = await BufCurl.RunAsync(
            "-v", "-H", "x-grpc-test-echo-initial: buf-initial", "-H", "x-grpc-test-echo-trailing-bin: q6ur", "-d", "{}", Url($"/{TestService}/UnaryCall"));

        Assert.True(result.ExitCode == 0, result.ToString());
        var log = BufVerboseLog.ForRequest(result.StandardError, $"/{TestService}/UnaryCall");
        Assert.Contains("X-Grpc-Test-Echo-Initial: buf-initial", log.ResponseHeaders);
        Assert.Contains("Grpc-Status: 0", log.Trailers);
        Assert.Contains("X-Grpc-Test-Echo-Trailing-Bin: q6ur", log.Trailers);
    }
}
