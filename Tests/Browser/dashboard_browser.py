"""The dashboard in a real browser (headless Chromium through chromedriver and selenium), as a user meets it.

Run by DashboardBrowserTests against a live server: python3 dashboard_browser.py BASE_URL ADMIN_KEY OTHER_KEY SHOTS_DIR
Each check saves a screenshot in SHOTS_DIR; any failure exits 1 with what was expected and what the page showed.
"""
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, ADMIN_KEY, OTHER_KEY, SHOTS = sys.argv[1:5]


def api(method, path, key, body=None):
    request = urllib.request.Request(BASE + path, method=method, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("TRAINYARD_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(os.environ.get("TRAINYARD_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def network_changed(driver):
    """Chromium's error page for a load it abandoned because the machine's interfaces changed (the suite's other
    tests make job network namespaces while this one runs): not the dashboard's doing, so the load is tried again."""
    try:
        return "ERR_NETWORK_CHANGED" in driver.page_source
    except Exception:
        return False


def load(driver, path):
    driver.get(BASE + path)
    for _ in range(5):
        if not network_changed(driver):
            return
        print(f"(Chromium abandoned {path} as the machine's network changed; loading it again)")
        driver.get(BASE + path)


def wait_for(driver, what, condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:  # the page is being replaced; look again
            pass
        if network_changed(driver):
            print(f"(Chromium abandoned a load as the machine's network changed; loading it again, waiting for {what})")
            driver.refresh()
        time.sleep(0.1)
    shot(driver, "failed-" + what.replace(" ", "-"))
    raise AssertionError(f"{what}: not within {timeout} s; the page shows:\n{driver.find_element(By.TAG_NAME, 'body').text[:3000]}")


def shot(driver, name):
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def sign_in(driver, key):
    load(driver, "/")
    wait_for(driver, "the sign-in page", lambda: driver.find_element(By.ID, "key"))
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.ID, "sign-in").click()
    wait_for(driver, "the job list", lambda: driver.find_element(By.ID, "jobs"))


def main():
    # A Python trainer that prints its loss, then waits for a flag file its own host writes after a few seconds.
    trainer = ("import time, sys\n"
               "for step in range(40):\n"
               "    print(f'step {step} loss={1.0 / (step + 1):.4f}', flush=True)\n"
               "    time.sleep(0.5)\n")
    api("POST", "/v1/jobs", ADMIN_KEY, {"name": "watched", "instance_type": "ml.m5.large", "command": ["python3", "-c", trainer],
                                        "metric_definitions": [{"name": "loss", "regex": "loss=([0-9.]+)"}]})
    api("POST", "/v1/jobs", ADMIN_KEY, {"name": "held", "instance_type": "ml.m5.large", "command": ["sleep", "600"]})
    driver = browser()
    try:
        # The list, open while the job runs, shows its status change without a reload.
        sign_in(driver, ADMIN_KEY)
        shot(driver, "1-jobs")
        status = lambda: driver.find_element(By.CSS_SELECTOR, 'tr[data-job="watched"] .status').text
        first = status()
        assert first != "Completed", "watched had ended before the list was open: the live update would not be seen"
        marker = driver.execute_script("window.notReloaded = true; return true")
        wait_for(driver, "watched shown Completed in the list", lambda: status() == "Completed", timeout=90)
        assert driver.execute_script("return window.notReloaded === true"), "the list reloaded instead of updating"
        print(f"list: watched went from {first} to Completed without a reload")
        # A job submitted elsewhere appears at the top of the open list.
        api("POST", "/v1/jobs", ADMIN_KEY, {"name": "arrived", "instance_type": "ml.m5.large", "command": ["true"]})
        wait_for(driver, "arrived added to the list", lambda: driver.find_element(By.CSS_SELECTOR, "#jobs tbody tr").get_attribute("data-job") == "arrived")
        assert driver.execute_script("return window.notReloaded === true"), "the list reloaded instead of adding the job"
        print("list: a job submitted elsewhere appeared at the top without a reload")
        shot(driver, "2-jobs-updated")

        # The job's page: its lines arrive, and a chart with its points.
        load(driver, "/jobs/held")
        wait_for(driver, "held's page", lambda: driver.find_element(By.ID, "status").text == "InProgress")
        load(driver, "/jobs/watched")
        wait_for(driver, "watched's last line in the log", lambda: "step 39 loss=0.0250" in driver.find_element(By.ID, "log").text)
        chart = driver.find_element(By.CSS_SELECTOR, 'svg.chart[aria-label="loss · algo-1"]')
        points = int(chart.get_attribute("data-points"))
        assert points == 40 and len(chart.find_elements(By.CSS_SELECTOR, "circle.point")) == 40, f"the chart has {points} points"
        driver.find_element(By.ID, "search").send_keys("step 7 ")
        visible = [s for s in driver.find_elements(By.CSS_SELECTOR, "#log span") if s.is_displayed()]
        assert [s.text.strip() for s in visible] == ["algo-1 | step 7 loss=0.1250"], f"search shows {[s.text for s in visible]}"
        print("job page: 40 lines, a chart of 40 points, search finds one line")
        shot(driver, "3-job")

        # A job whose lines arrive while the page is open.
        api("POST", "/v1/jobs", ADMIN_KEY, {"name": "live", "instance_type": "ml.m5.large", "command": ["python3", "-c", trainer]})
        load(driver, "/jobs/live")
        initial = driver.find_element(By.ID, "log").text
        assert "step 10 " not in initial, "the page was served with step 10 already: arriving lines would not be seen"
        wait_for(driver, "live's lines arriving", lambda: "step 10 " in driver.find_element(By.ID, "log").text, timeout=90)
        print("live: lines arrived while the page was open")
        shot(driver, "4-live-logs")

        # Stop from the page.
        load(driver, "/jobs/held")
        wait_for(driver, "held's stop button", lambda: driver.find_element(By.ID, "stop"))
        driver.find_element(By.ID, "stop").click()
        wait_for(driver, "held shown Stopped", lambda: driver.find_element(By.ID, "status").text == "Stopped", timeout=90)
        assert api("GET", "/v1/jobs/held", ADMIN_KEY)["status"] == "Stopped"
        print("stop: the button stopped held")
        shot(driver, "5-stopped")

        # A gang of four waits behind a held host: the capacity page counts it for its project.
        api("POST", "/v1/jobs", ADMIN_KEY, {"name": "blocker", "instance_type": "ml.m5.large", "command": ["sleep", "600"]})
        api("POST", "/v1/jobs", ADMIN_KEY, {"name": "gang", "instance_type": "ml.m5.large", "instance_count": 4, "command": ["true"]})
        wait_for(driver, "gang pending", lambda: api("GET", "/v1/jobs/gang", ADMIN_KEY)["secondary_status"] == "Pending")
        load(driver, "/capacity")
        queued = lambda: driver.find_element(By.CSS_SELECTOR, 'tr[data-pool="ml.m5.large on-demand"] .queued').text
        assert queued() == "1", f"the capacity page shows {queued()} of our jobs waiting"
        shot(driver, "6-capacity")

        # Another project's key sees none of it.
        driver.find_element(By.CSS_SELECTOR, "header form button").click()
        sign_in(driver, OTHER_KEY)
        assert driver.find_element(By.ID, "project").text == "lab"
        # after two of the list's live reads too
        wait_for(driver, "two live reads of the lab's list", lambda: int(driver.execute_script("return document.body.dataset.refreshed || 0")) >= 2)
        assert not driver.find_elements(By.CSS_SELECTOR, "tr[data-job]"), "the other project sees jobs"
        for path in ("/jobs/watched", "/jobs/watched/artifacts/model", "/v1/jobs/watched", "/v1/jobs/watched/logs?follow=true"):
            load(driver, path)
            text = driver.find_element(By.TAG_NAME, "body").text
            assert "training job watched not found" in text and "step 1" not in text, f"{path} shows: {text[:500]}"
        load(driver, "/capacity")
        assert queued() == "0", "the lab sees another project's waiting jobs"
        load(driver, "/webhooks")
        assert driver.find_element(By.ID, "none"), "the lab sees webhooks"
        print("isolation: the lab's key sees no job, log, archive, queue or webhook of the default project")
        shot(driver, "7-other-project")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
