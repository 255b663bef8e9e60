"""bench/dashboard's browser part: loads dashboard pages in headless Chromium and reports the Navigation Timing of each
load (time to first byte: responseStart - requestStart; rendered: domContentLoadedEventEnd; loaded: loadEventEnd,
all from the navigation's start, in ms), ROUNDS loads per page, as JSON on stdout.

python3 pages.py BASE_URL KEY ROUNDS PATH...   (the first path is the baseline)
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, KEY, ROUNDS, PATHS = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.implicitly_wait(30)  # the sign-in redirect lands on the list: wait for it
try:
    driver.get(BASE + "/sign-in")
    driver.find_element(By.ID, "key").send_keys(KEY)
    driver.find_element(By.ID, "sign-in").click()
    driver.find_element(By.ID, "jobs")
    results = {}
    for path in PATHS:
        driver.get(BASE + path)  # unmeasured: the first load of each page
        samples = []
        for _ in range(ROUNDS):
            driver.get(BASE + path)
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.responseStart - n.requestStart, n.domContentLoadedEventEnd, n.loadEventEnd, n.transferSize,"
                " document.querySelectorAll('tr[data-job], #log span').length];")
            samples.append(timing)
        results[path] = samples
    print(json.dumps(results))
finally:
    driver.quit()
