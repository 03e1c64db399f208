using System.Net;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>REST calls the way the reference's curl examples make them, and checks of their JSON answers.</summary>
internal static class RestCalls
{
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null, string? token = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Add("X-Platform-Token", token);
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }
        return await http.SendAsync(request).DefaultTimeout();
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
            Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }

    public static void AssertError(JsonElement body, int code, string reason)
    {
        Assert.Equal(code, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        var info = body.GetProperty("details").EnumerateArray().Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
        Assert.Equal(reason, info.GetProperty("reason").GetString());
    }

    public static string[] ViolatedFields(JsonElement body) =>
        [.. body.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.BadRequest")
            .GetProperty("field_violations").EnumerateArray().Select(v => v.GetProperty("field").GetString()!)];

    /// <summary>Functional tests fail on any error the host logged.</summary>
    public static void AssertNoErrorLogs(Ops.ControlPlaneFixture host) =>
        Assert.Empty(host.Logs.Entries.Where(e => e.GetProperty("level").GetString() is "error" or "critical").Select(e => e.ToString()));
}
